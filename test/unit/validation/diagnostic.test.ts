import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  capDiagnostics,
  LineIndex,
  positionFromUtf8Column,
  range,
  type Diagnostic,
} from '../../../server/src/validation/diagnostic';

test('LineIndex maps offsets to lines and UTF-16 columns across \\n, \\r\\n and \\r', () => {
  const text = 'ab\r\ncd\reé😀x\nlast';
  const index = new LineIndex(text);
  assert.equal(index.lineCount, 4);
  assert.deepEqual(index.positionAt(text.indexOf('d')), { line: 1, character: 1 });
  // The astral character takes two code units, so 'x' is at column 4 of line 2.
  assert.deepEqual(index.positionAt(text.indexOf('x')), { line: 2, character: 4 });
  assert.deepEqual(index.positionAt(text.indexOf('last')), { line: 3, character: 0 });
  assert.equal(index.lineText(0), 'ab');
  assert.equal(index.lineText(2), 'eé😀x');
  assert.equal(index.offsetAt({ line: 2, character: 4 }), text.indexOf('x'));
  // An offset between \r and \n is the end of its line.
  assert.deepEqual(index.positionAt(3), { line: 0, character: 2 });
});

test('LineIndex gives a line’s non-whitespace extent and finds a quoted token as a whole word', () => {
  const index = new LineIndex('\tmadd.lo.s32 \t%r2, %r1, 2; // madd\n   \n');
  assert.deepEqual(index.lineExtent(0), range(0, 1, 0, 34));
  assert.deepEqual(index.lineExtent(1), range(1, 0, 1, 3));
  assert.deepEqual(index.findTokenOnLine(0, 'madd'), range(0, 1, 0, 5));
  assert.deepEqual(index.findTokenOnLine(0, '%r1'), range(0, 19, 0, 22));
  assert.equal(index.findTokenOnLine(0, '%r'), undefined, 'a prefix of a register is not the register');
});

test('UTF-8 byte columns (clang) become UTF-16 columns', () => {
  const index = new LineIndex('x\n  é😀 foo;\n');
  // 'foo' starts at byte 9 (2 spaces, é = 2 bytes, 😀 = 4 bytes, space), 1-based 10.
  assert.deepEqual(positionFromUtf8Column(index, 2, 10), { line: 1, character: 6 });
});

test('capDiagnostics keeps the first ones in document order and says how many more there were', () => {
  const many: Diagnostic[] = Array.from({ length: 10_000 }, (_, i) => ({
    range: range(10_000 - i, 0, 10_000 - i, 1),
    severity: 'error',
    message: `e${i}`,
    source: 'test',
  }));
  const capped = capDiagnostics(many, 1000, 'test');
  assert.equal(capped.length, 1001);
  assert.equal(capped[0]?.range.start.line, 1);
  assert.equal(capped[999]?.range.start.line, 1000);
  const last = capped[1000];
  assert.equal(last?.severity, 'information');
  assert.match(last?.message ?? '', /^9000 more diagnostics \(9000 errors\) not shown/);
  assert.equal(last?.range.start.line, 1001);
  assert.equal(capDiagnostics(many.slice(0, 5), 1000).length, 5);
});
