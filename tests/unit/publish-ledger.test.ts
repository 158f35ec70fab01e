import { describe, expect, test } from '@jest/globals';
import { describePublish } from '../../src/cli/render.js';
import type { PublishSummary } from '../../src/ledger/types.js';
import { deriveLedgerState } from '../../src/ledger/rules.js';
import type { LedgerEvent } from '../../src/ledger/types.js';

const publish = (release: string, current: string | null = release): PublishSummary => ({
  mode: 'link+rename',
  release,
  uploaded_files: 3,
  linked_files: 19997,
  bytes_uploaded: 2048,
  current,
  manifest_sha256: 'ab'.repeat(32),
  sftp_operations: 20100,
});

const outcome = (cut: string, extra: Partial<Extract<LedgerEvent, { type: 'outcome' }>> = {}): LedgerEvent => ({
  type: 'outcome',
  at: '2024-06-03T02:20:00.000Z',
  cut,
  id: 'el-sol',
  outcome: 'delivered',
  code: null,
  message: null,
  via: 'cut',
  seconds: 1,
  attempts: 1,
  ...extra,
});

describe('the current release in the ledger', () => {
  test.each([
    { name: 'package only: none', events: [outcome('20240602_2020')], current: undefined },
    { name: 'a publish names it', events: [outcome('20240602_2020', { publish: publish('20240602_2020') })], current: '20240602_2020' },
    {
      name: 'a rollback moves it back, and a later package-only outcome leaves it',
      events: [
        outcome('20240602_2040', { publish: publish('20240602_2040') }),
        outcome('20240602_2020', { via: 'push', publish: publish('20240602_2020') }),
        outcome('20240602_2100'),
      ],
      current: '20240602_2020',
    },
    {
      name: 'a failed outcome without publish leaves it',
      events: [outcome('20240602_2020', { publish: publish('20240602_2020') }), outcome('20240602_2040', { outcome: 'failed', code: 'CONNECTION_LOST' })],
      current: '20240602_2020',
    },
  ])('$name', ({ events, current }) => {
    expect(deriveLedgerState(events).difusores['el-sol'].currentRelease).toBe(current);
  });
});

test('the human line names release, mode, uploaded and linked files', () => {
  expect(describePublish(publish('20240602_2020'))).toBe('site 20240602_2020 (link+rename): 3 uploaded (2.0 KiB), 19997 linked');
});
