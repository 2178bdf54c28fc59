// The oracle h3/oracle_test.go checks the pure-Go port gridd/h3 against:
// Uber's h3-js (pinned in package.json). Reads one JSON request per line
// on stdin and writes one answer line per request on stdout, in order, as
// space-separated tokens (numbers as JavaScript writes them, which read
// back exactly):
//
//   {"op":"point","lat":..,"lng":..,"res":[r, ...]}
//     -> 16 cells: latLngToCell at res 0..15, then for each r:
//        cellToParent(cells[15], r), cellToLatLng(cells[r]) as lat lng,
//        the number of vertices of cellToBoundary(cells[r]) and each
//        vertex as lat lng
//   {"op":"cell","cell":"hex"}
//     -> isValidCell, and isPentagon for a valid cell ("true"/"false")
//
// A request h3-js rejects answers "error" and the message.
'use strict';
const h3 = require('h3-js');
const readline = require('readline');

function answer(q) {
  switch (q.op) {
    case 'point': {
      const cells = [];
      for (let r = 0; r <= 15; r++) cells.push(h3.latLngToCell(q.lat, q.lng, r));
      const a = cells.slice();
      for (const r of q.res) {
        if (!Number.isInteger(r) || r < 0 || r > 15) throw new Error('bad res ' + r);
        a.push(h3.cellToParent(cells[15], r), ...h3.cellToLatLng(cells[r]));
        const b = h3.cellToBoundary(cells[r]);
        a.push(b.length);
        for (const v of b) a.push(v[0], v[1]);
      }
      return a.join(' ');
    }
    case 'cell': {
      const valid = h3.isValidCell(q.cell);
      return valid ? 'true ' + h3.isPentagon(q.cell) : 'false';
    }
    default:
      throw new Error('unknown op ' + q.op);
  }
}

let out = [];
function flush() {
  if (out.length) {
    process.stdout.write(out.join(''));
    out = [];
  }
}

const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
rl.on('line', (line) => {
  if (!line) return;
  let a;
  try {
    a = answer(JSON.parse(line));
  } catch (e) {
    a = 'error ' + String(e && e.message ? e.message : e).replace(/\n/g, ' ');
  }
  out.push(a + '\n');
  if (out.length >= 1000) flush();
});
rl.on('close', flush);
