// The pipelined bulk path takes only plain answers; everything else goes to the ordinary client.
import { parsePlainHead } from '../../src/audit/pipelined.js';

const head = (...lines: string[]) => lines.join('\r\n');

describe('parsePlainHead: a status and a Content-Length, nothing else', () => {
  const cases: Array<[string, string, ReturnType<typeof parsePlainHead>]> = [
    ['200 with a length', head('HTTP/1.1 200 OK', 'Server: nginx', 'Content-Length: 1234'), { status: 200, length: 1234, close: false }],
    ['HTTP/1.0, no reason phrase', head('HTTP/1.0 404', 'content-length: 0'), { status: 404, length: 0, close: false }],
    ['header names in any case, spaces around the value', head('HTTP/1.1 200 OK', 'CONTENT-LENGTH:   7  '), { status: 200, length: 7, close: false }],
    ['Connection: close', head('HTTP/1.1 200 OK', 'Content-Length: 3', 'Connection: close'), { status: 200, length: 3, close: true }],
    ['Connection: keep-alive', head('HTTP/1.1 200 OK', 'Content-Length: 3', 'Connection: keep-alive'), { status: 200, length: 3, close: false }],
    ['the same length twice', head('HTTP/1.1 200 OK', 'Content-Length: 3', 'Content-Length: 3'), { status: 200, length: 3, close: false }],
    ['two lengths that disagree', head('HTTP/1.1 200 OK', 'Content-Length: 3', 'Content-Length: 4'), null],
    ['no length', head('HTTP/1.1 200 OK', 'Server: x'), null],
    ['a length that is not a number', head('HTTP/1.1 200 OK', 'Content-Length: 3x'), null],
    ['a negative length', head('HTTP/1.1 200 OK', 'Content-Length: -1'), null],
    ['chunked', head('HTTP/1.1 200 OK', 'Transfer-Encoding: chunked', 'Content-Length: 3'), null],
    ['a redirect', head('HTTP/1.1 302 Found', 'Location: /x', 'Content-Length: 0'), null],
    ['an interim answer', head('HTTP/1.1 100 Continue', 'Content-Length: 0'), null],
    ['not HTTP/1.x', head('HTTP/2 200', 'Content-Length: 0'), null],
    ['garbage', 'hello', null],
  ];
  test.each(cases)('%s', (_name, text, expected) => {
    expect(parsePlainHead(text)).toEqual(expected);
  });
});
