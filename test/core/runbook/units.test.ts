import { describe, expect, it } from 'vitest';
import { isLifeboatError } from '../../../src/core/errors.js';
import { parseBandwidth, parseDuration, parsePercentage, parseSize } from '../../../src/core/runbook/units.js';

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(isLifeboatError(e, 'USAGE')).toBe(true);
    return (e as Error).message;
  }
  throw new Error('expected a throw');
}

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['90s', 90_000],
    ['15m', 900_000],
    ['26h', 93_600_000],
    ['30d', 2_592_000_000],
    ['1w', 604_800_000],
    ['1h30m', 5_400_000],
    ['1d12h', 129_600_000],
    ['2m30s500ms', 150_500],
    ['0s', 0],
  ])('%s → %d ms', (input, ms) => {
    expect(parseDuration(input)).toBe(ms);
  });

  it.each([
    ['5x', 'Unknown duration: "5x" (expected e.g. 15m, 26h, 30d)'],
    ['-1h', 'Unknown duration: "-1h" (expected e.g. 15m, 26h, 30d)'],
    ['1.5.h', 'Unknown duration: "1.5.h" (expected e.g. 15m, 26h, 30d)'],
    ['1.5h', 'Unknown duration: "1.5h" (expected e.g. 15m, 26h, 30d)'],
    ['15', 'Duration without a unit: "15" (expected e.g. 15m, 26h, 30d)'],
    ['', 'Unknown duration: "" (expected e.g. 15m, 26h, 30d)'],
    ['h', 'Unknown duration: "h" (expected e.g. 15m, 26h, 30d)'],
    ['15M', 'Unknown duration: "15M" (expected e.g. 15m, 26h, 30d)'],
    ['1h 30m', 'Unknown duration: "1h 30m" (expected e.g. 15m, 26h, 30d)'],
    ['30m1h', 'Unknown duration: "30m1h" (expected e.g. 15m, 26h, 30d)'],
    ['1h1h', 'Unknown duration: "1h1h" (expected e.g. 15m, 26h, 30d)'],
    ['1y', 'Unknown duration: "1y" (expected e.g. 15m, 26h, 30d)'],
    ['99999999999999999w', 'Duration too long: "99999999999999999w" (expected e.g. 15m, 26h, 30d)'],
  ])('refuses %j', (input, message) => {
    expect(messageOf(() => parseDuration(input))).toBe(message);
  });
});

describe('parseSize and parseBandwidth', () => {
  it.each([
    ['512B', 512],
    ['1kB', 1_000],
    ['10MB', 10_000_000],
    ['2GB', 2_000_000_000],
    ['1TB', 1_000_000_000_000],
    ['1KiB', 1_024],
    ['50MiB', 52_428_800],
    ['1GiB', 1_073_741_824],
    ['1.5GiB', 1_610_612_736],
    ['1TiB', 1_099_511_627_776],
  ])('size %s → %d bytes', (input, bytes) => {
    expect(parseSize(input)).toBe(bytes);
  });

  it.each([
    ['50MiB/s', 52_428_800],
    ['10MB/s', 10_000_000],
    ['512KiB/s', 524_288],
  ])('bandwidth %s → %d bytes/s', (input, rate) => {
    expect(parseBandwidth(input)).toBe(rate);
  });

  it.each([
    ['10', 'Size without a unit: "10" (expected e.g. 512MiB, 1GiB, 10MB)'],
    ['10KB', 'Unknown size: "10KB" (expected e.g. 512MiB, 1GiB, 10MB)'],
    ['10mb', 'Unknown size: "10mb" (expected e.g. 512MiB, 1GiB, 10MB)'],
    ['-1GiB', 'Unknown size: "-1GiB" (expected e.g. 512MiB, 1GiB, 10MB)'],
    ['1.2.3MB', 'Unknown size: "1.2.3MB" (expected e.g. 512MiB, 1GiB, 10MB)'],
    ['10 MiB', 'Unknown size: "10 MiB" (expected e.g. 512MiB, 1GiB, 10MB)'],
  ])('size refuses %j', (input, message) => {
    expect(messageOf(() => parseSize(input))).toBe(message);
  });

  it.each([
    ['50MiB', 'Bandwidth without "/s": "50MiB" (expected e.g. 50MiB/s, 10MB/s)'],
    ['50', 'Bandwidth without a unit: "50" (expected e.g. 50MiB/s, 10MB/s)'],
    ['50/s', 'Bandwidth without a unit: "50/s" (expected e.g. 50MiB/s, 10MB/s)'],
    ['50Mbit/s', 'Unknown bandwidth: "50Mbit/s" (expected e.g. 50MiB/s, 10MB/s)'],
    ['fast', 'Unknown bandwidth: "fast" (expected e.g. 50MiB/s, 10MB/s)'],
  ])('bandwidth refuses %j', (input, message) => {
    expect(messageOf(() => parseBandwidth(input))).toBe(message);
  });
});

describe('parsePercentage', () => {
  it.each([
    ['0%', 0],
    ['10%', 0.1],
    ['0.5%', 0.005],
    ['100%', 1],
  ])('%s → %d', (input, fraction) => {
    expect(parsePercentage(input)).toBe(fraction);
  });

  it.each([
    ['150%', 'Percentage over 100%: "150%" (expected 0% to 100%)'],
    ['100.1%', 'Percentage over 100%: "100.1%" (expected 0% to 100%)'],
    ['-5%', 'Negative percentage: "-5%" (expected 0% to 100%)'],
    ['10', 'Percentage without a % sign: "10" (expected e.g. 10%, 0.5%)'],
    ['ten%', 'Unknown percentage: "ten%" (expected e.g. 10%, 0.5%)'],
    ['10 %', 'Unknown percentage: "10 %" (expected e.g. 10%, 0.5%)'],
  ])('refuses %j', (input, message) => {
    expect(messageOf(() => parsePercentage(input))).toBe(message);
  });
});
