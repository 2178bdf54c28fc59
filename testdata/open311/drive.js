// Drives the npm Open311 GeoReport v2 client (open311@0.0.12, JSON format)
// against a gridd server for api/open311_test.go:
//
//   node drive.js BASE API_KEY '[{"op":"serviceList"}, ...]'
//
// BASE is the server's URL; API_KEY the token submitRequest sends as
// api_key. Each operation calls one client method, one after another:
//   {"op":"serviceList"}
//   {"op":"serviceDefinition","code":"gb2026-matter-06010"}
//   {"op":"submitRequest","data":{...},"apiKey":"other key (optional)"}
//   {"op":"serviceRequests","filter":{...}}     or "ids":["1","2"]
//   {"op":"serviceRequest","id":"1"}
//   {"op":"token","id":"x"}
// It prints one JSON array: for each operation {op, err, data} as the
// client's callback got them (err false or null on success).
const Open311 = require('open311');

const [base, apiKey, opsJSON] = process.argv.slice(2);
if (!base || !apiKey) {
  console.error('usage: node drive.js BASE API_KEY OPS_JSON');
  process.exit(2);
}
const ops = JSON.parse(opsJSON || '[{"op":"serviceList"}]');
const client = key => new Open311({endpoint: base.replace(/\/$/, '') + '/open311/v2/', format: 'json',
  apiKey: key, jurisdiction: 'gridd.test'});

function call(o, cb) {
  const c = client(o.apiKey || apiKey);
  switch (o.op) {
    case 'serviceList': return c.serviceList(cb);
    case 'serviceDefinition': return c.serviceDefinition(o.code, cb);
    case 'submitRequest': return c.submitRequest(o.data, cb);
    case 'serviceRequests': return o.ids ? c.serviceRequests(o.ids, cb) : c.serviceRequests(o.filter || {}, cb);
    case 'serviceRequest': return c.serviceRequest(o.id, cb);
    case 'token': return c.token(o.id, cb);
  }
  cb('unknown op ' + o.op, null);
}

const results = [];
(function next(i) {
  if (i >= ops.length) {
    process.stdout.write(JSON.stringify(results) + '\n');
    return;
  }
  let done = false;
  try {
    call(ops[i], (err, data) => {
      if (done) return;
      done = true;
      results.push({op: ops[i].op, err: err === undefined ? null : err, data: data === undefined ? null : data});
      next(i + 1);
    });
  } catch (e) {
    results.push({op: ops[i].op, err: 'threw', data: String(e && e.stack || e)});
    next(i + 1);
  }
})(0);
