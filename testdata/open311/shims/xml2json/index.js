exports.toJson = function () { throw new Error('xml2json shim: XML format not supported; use format "json"'); };
