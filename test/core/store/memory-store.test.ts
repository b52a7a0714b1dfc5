import { MemoryStore } from '../../../src/core/store/memory-store.js';
import { storeContract } from './contract.js';

storeContract('MemoryStore', async (limits) => new MemoryStore({ limits }));
