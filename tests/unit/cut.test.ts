import { cutAt, cutFromId, formatLocalTime, parseCutTime } from '../../src/core/cut.js';
import { PrepPushError } from '../../src/core/errors.js';

const TZ = 'America/Mexico_City';
const never = () => {
  throw new Error('clock must not be read when --cut is given');
};

describe('cut ids', () => {
  test.each([
    ['2024-06-02T20:20:00-06:00', '20240602_2020', '2024-06-02T20:20:00-06:00'],
    ['2024-06-03T02:20:00Z', '20240602_2020', '2024-06-02T20:20:00-06:00'],
    ['2024-06-02T20:20:59-06:00', '20240602_2020', '2024-06-02T20:20:00-06:00'],
    // Mexico City kept daylight saving time until 2022: June 2021 was -05:00.
    ['2021-06-07T05:05:00Z', '20210607_0005', '2021-06-07T00:05:00-05:00'],
  ])('%s is cut %s', (input, id, time) => {
    const cut = parseCutTime(input, TZ, never);
    expect(cut.id).toBe(id);
    expect(cut.time).toBe(time);
  });

  test('without --cut the clock gives the cut', () => {
    expect(parseCutTime(undefined, TZ, () => Date.parse('2024-06-03T02:40:10Z')).id).toBe('20240602_2040');
  });

  test('the same instant in another timezone gets that zone’s id', () => {
    expect(cutAt(Date.parse('2024-06-03T02:20:00Z'), 'America/Tijuana').id).toBe('20240602_1920');
  });

  test.each(['2024-06-02 20:20', '2024-06-02T20:20:00', 'yesterday', '20240602-2020'])('%s is refused as no time at all', (input) => {
    expect(() => parseCutTime(input, TZ, never)).toThrow(PrepPushError);
    expect(() => parseCutTime(input, TZ, never)).toThrow(/--cut: .* is neither an ISO 8601 time with an offset nor a cut id/);
  });

  test.each([
    ['2026-02-30T20:20:00-06:00', /is not a real date: February 2026 has no day 30/],
    ['2024-13-02T20:20:00Z', /is not a real date: there is no month 13/],
    ['2024-06-02T24:20:00-06:00', /is not a real date: 24:20 is not a time of day/],
    ['20260230_2020', /is not a real date: February 2026 has no day 30/],
  ])('%s is named as a date that does not exist', (input, message) => {
    expect(() => parseCutTime(input, TZ, never)).toThrow(message);
  });

  test('--cut takes a cut id too, read in the registry timezone', () => {
    expect(parseCutTime('20240602_2020', TZ, never).time).toBe('2024-06-02T20:20:00-06:00');
  });

  test('a time in the hour a DST change skips is named as such', () => {
    // Mexico City sprang forward at 02:00 on 2021-04-04.
    expect(() => cutFromId('20210404_0230', TZ)).toThrow(/does not exist in America\/Mexico_City/);
  });

  test('local times in messages carry the offset, not Z', () => {
    expect(formatLocalTime('2026-11-25T20:31:01.404Z', TZ)).toBe('2026-11-25T14:31:01-06:00');
  });

  test('a cut id round-trips to its cut', () => {
    const cut = cutFromId('20240602_2020', TZ);
    expect(cut.time).toBe('2024-06-02T20:20:00-06:00');
    expect(cut.epochMs).toBe(Date.parse('2024-06-02T20:20:00-06:00'));
  });

  test.each(['2024060_2020', '20241302_2020', 'latest'])('%s is not a cut id', (id) => {
    expect(() => cutFromId(id, TZ)).toThrow(/is not (a cut id|a real date)/);
  });
});
