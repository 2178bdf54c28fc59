"""Load gridd's OGC API - Features collections in QGIS, as GIS staff would.

Run with Debian's python3 (python3-qgis), headless:
    QT_QPA_PLATFORM=offscreen /usr/bin/python3 load_layers.py URL OUTDIR COLL [COLL...]

For each collection it adds the layer through QGIS's own OAPIF provider
(the "WFS / OGC API - Features" connection of the Data Source Manager),
reads its feature count, fields, extent and the feature with the
smallest code by iterating the provider, and renders all layers into OUTDIR/qgis-layers.png. It
prints one JSON document on stdout for the Go test to check against
PostGIS; QGIS's own log lines go to stderr. With a token in
GRIDD_TOKEN it sends it through an authentication configuration, the
way the README tells QGIS users: "API Header" where QGIS has it, else
"Basic" with the token as the password.
"""
import json
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from qgis.core import (  # noqa: E402
    Qgis,
    QgsApplication,
    QgsAuthMethodConfig,
    QgsDataSourceUri,
    QgsFeatureRequest,
    QgsMapRendererParallelJob,
    QgsMapSettings,
    QgsMessageLog,
    QgsRectangle,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import QSize  # noqa: E402
from qgis.PyQt.QtGui import QColor  # noqa: E402


def main():
    url, outdir, colls = sys.argv[1], sys.argv[2], sys.argv[3:]
    QgsApplication.setPrefixPath("/usr", True)
    app = QgsApplication([], False)
    app.initQgis()
    def on_log(msg, tag, level):
        print(f"[{tag}] {msg}", file=sys.stderr)

    QgsApplication.messageLog().messageReceived.connect(on_log)

    # The token goes in an authentication configuration, as the README
    # tells GIS staff: "API Header" (QGIS 3.30 and later) sends it as
    # "Authorization: Bearer TOKEN"; older QGIS has only "Basic", with the
    # token as the password.
    authcfg, method = "", ""
    token = os.environ.get("GRIDD_TOKEN", "")
    if token:
        am = QgsApplication.authManager()
        if not am.masterPasswordIsSet():
            am.setMasterPassword("gridd-test", True)
        if "APIHeader" in am.authMethodsKeys():
            method = "APIHeader"
            cfg = QgsAuthMethodConfig(method)
            cfg.setConfig("Authorization", "Bearer " + token)
        else:
            method = "Basic"
            cfg = QgsAuthMethodConfig(method)
            cfg.setConfig("username", "gridd")
            cfg.setConfig("password", token)
        cfg.setName("gridd")
        ok = am.storeAuthenticationConfig(cfg)
        if isinstance(ok, tuple):
            ok = ok[0]
        if not ok:
            sys.exit("cannot store the authentication configuration")
        authcfg = cfg.id()

    out = {"qgis": Qgis.QGIS_VERSION, "auth": method, "layers": {}}
    layers = []
    for coll in colls:
        uri = QgsDataSourceUri()
        uri.setParam("url", url)
        uri.setParam("typename", coll)
        uri.setParam("restrictToRequestBBOX", "0")
        if authcfg:
            uri.setAuthConfigId(authcfg)
        layer = QgsVectorLayer(uri.uri(False), coll, "OAPIF")
        info = {"valid": layer.isValid()}
        if not layer.isValid():
            info["error"] = layer.dataProvider().error().summary() if layer.dataProvider() else "no provider"
            out["layers"][coll] = info
            continue
        ext = layer.extent()
        info["extent"] = [ext.xMinimum(), ext.yMinimum(), ext.xMaximum(), ext.yMaximum()]
        info["crs"] = layer.crs().authid()
        info["fields"] = [f.name() for f in layer.fields()]
        info["geometry_type"] = QgsWkbTypes_name(layer.wkbType())
        count = 0
        first = None
        for f in layer.getFeatures(QgsFeatureRequest()):
            count += 1
            if first is None or f["code"] < first["attributes"]["code"]:
                first = {"attributes": {k: jsonable(f[k]) for k in info["fields"]},
                         "wkt": f.geometry().asWkt(9)}
        info["count"] = count
        info["provider_count"] = layer.featureCount()
        info["first"] = first
        # The extent QGIS has once it read the features, for "zoom to layer".
        layer.updateExtents()
        e2 = layer.extent()
        info["extent_after_read"] = [e2.xMinimum(), e2.yMinimum(), e2.xMaximum(), e2.yMaximum()]
        out["layers"][coll] = info
        layers.append(layer)

    if layers:
        for lyr in layers:
            sym = lyr.renderer().symbol() if hasattr(lyr.renderer(), "symbol") else None
            if sym is not None and lyr.geometryType() == 2:  # polygons: outlines over a light fill
                sym.setColor(QColor(255, 240, 200, 120))
                sym.symbolLayer(0).setStrokeColor(QColor(200, 60, 0))
                sym.symbolLayer(0).setStrokeWidth(0.1)
        ms = QgsMapSettings()
        ms.setLayers(list(reversed(layers)))  # first collection on top
        ms.setDestinationCrs(layers[0].crs())
        full = QgsRectangle(layers[0].extent())
        for lyr in layers[1:]:
            full.combineExtentWith(lyr.extent())
        ms.setExtent(full)
        ms.setOutputSize(QSize(1200, 1000))
        ms.setBackgroundColor(QColor(255, 255, 255))
        job = QgsMapRendererParallelJob(ms)
        job.start()
        job.waitForFinished()
        png = os.path.join(outdir, "qgis-layers.png")
        job.renderedImage().save(png, "PNG")
        out["png"] = png

    print(json.dumps(out, ensure_ascii=False))
    sys.stdout.flush()
    # QGIS 3.22 crashes in exitQgis() while tearing down the OAPIF
    # provider's download threads; everything is written by now.
    os._exit(0)


def QgsWkbTypes_name(t):
    from qgis.core import QgsWkbTypes
    return QgsWkbTypes.displayString(t)


def jsonable(v):
    if v is None:
        return None
    try:
        from qgis.PyQt.QtCore import QVariant, QDateTime, QDate
        if isinstance(v, QVariant):
            return None if v.isNull() else str(v.value())
        if isinstance(v, QDateTime):
            return v.toString("yyyy-MM-ddTHH:mm:ss")
        if isinstance(v, QDate):
            return v.toString("yyyy-MM-dd")
    except Exception:
        pass
    if isinstance(v, (int, float, str, bool)):
        return v
    return str(v)


if __name__ == "__main__":
    main()
