exports.parseXml = function () { throw new Error('sparkxml shim: XML format not supported; use format "json"'); };
