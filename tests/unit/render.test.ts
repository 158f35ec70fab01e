import { makeStyle, renderResultLine, renderRunSummary, table } from '../../src/cli/render.js';

describe('table', () => {
  test('columns line up whether or not cells are coloured', () => {
    const colour = makeStyle(true);
    const rows = [
      ['el-sol', colour.bad('blocked'), '3'],
      ['la-voz', 'active', '0'],
    ];
    const plain = table(['difusor', 'state', 'misses'], rows).map((l) => l.replace(/\x1b\[[0-9;]*m/g, ''));
    expect(plain).toEqual([
      'difusor  state    misses',
      '-------  -------  ------',
      'el-sol   blocked  3',
      'la-voz   active   0',
    ]);
  });

  test('without colour no escape code is written', () => {
    expect(makeStyle(false).bad('FAILED')).toBe('FAILED');
  });
});

describe('fallbacks are never silent', () => {
  const delivered = (fallbacks?: Array<'no-fsync' | 'no-posix-rename'>) => ({
    id: 'el-sol',
    outcome: 'delivered' as const,
    error: null,
    seconds: 1,
    attempts: 1,
    bytes: 1000,
    ...(fallbacks ? { fallbacks } : {}),
  });
  const report = (results: ReturnType<typeof delivered>[]) => ({
    command: 'cut' as const,
    cut: { id: '20240602_2020', time: '2024-06-02T20:20:00-06:00' },
    package: { file: 'P.tar.gz', sha256: 'a'.repeat(64), bytes: 1000 },
    results,
    newly_blocked: [],
    not_started: [],
    interrupted: false,
    dry_run: false,
    started_at: '2024-06-03T02:20:00.000Z',
    seconds: 1,
    exit_code: 0,
  });

  test('the progress line and the summary name each fallback and what it means', () => {
    const style = makeStyle(false);
    expect(renderResultLine(delivered(['no-fsync']), style)[0]).toMatch(/delivered .*  fallbacks: no-fsync$/);
    const summary = renderRunSummary(report([delivered(['no-fsync', 'no-posix-rename'])]), style);
    // Wrapped within 100 columns: read with the wraps undone.
    expect(summary.join(' ').replace(/\s+/g, ' ')).toContain(
      'el-sol: delivered with fallbacks: no-fsync (no fsync@openssh.com: files not flushed to the server\'s disk before the rename); ' +
        'no-posix-rename (no posix-rename@openssh.com: remove then rename (a moment without the file, never a partial one))',
    );
  });

  test('a delivery without fallbacks prints no fallback text', () => {
    const style = makeStyle(false);
    expect(renderResultLine(delivered(), style)[0]).not.toMatch(/fallback/);
    expect(renderRunSummary(report([delivered()]), style).join('\n')).not.toMatch(/fallback/);
  });
});
