"""Edit a gridd grid in QGIS, as GIS staff would: move a vertex and set an
attribute in the grids layer, then save.

Run with a QGIS whose OGC API - Features provider can edit (3.32 or later),
headless:
    QT_QPA_PLATFORM=offscreen python3 edit_grid.py URL CODE DLON DLAT NOTE

The token (an editor's) comes in GRIDD_TOKEN and goes in an authentication
configuration of type "API Header". The script opens the grids layer through
QGIS's own OAPIF provider, and when the provider offers geometry and
attribute changes it moves the first vertex of grid CODE by DLON, DLAT
degrees with topological editing on (every feature sharing the vertex moves
with it, as the vertex tool does), sets its note to NOTE and commits. It
prints one JSON document: the QGIS version, whether the provider can edit,
whether the commit succeeded, the commit errors, the vertex before and
after. With a QGIS that cannot edit OGC API layers (3.22, Debian bookworm's)
it says so and edits nothing.
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
    QgsGeometry,
    QgsPointXY,
    QgsProject,
    QgsVectorDataProvider,
    QgsVectorLayer,
)


def main():
    url, code, dlon, dlat, note = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
    QgsApplication.setPrefixPath("/usr", True)
    app = QgsApplication([], False)
    app.initQgis()
    out = {"qgis": Qgis.QGIS_VERSION}

    authcfg = ""
    am = QgsApplication.authManager()
    if "APIHeader" in am.authMethodsKeys():
        if not am.masterPasswordIsSet():
            am.setMasterPassword("gridd-test", True)
        cfg = QgsAuthMethodConfig("APIHeader")
        cfg.setName("gridd")
        cfg.setConfig("Authorization", "Bearer " + os.environ.get("GRIDD_TOKEN", ""))
        ok = am.storeAuthenticationConfig(cfg)
        if isinstance(ok, tuple):
            ok = ok[0]
        if ok:
            authcfg = cfg.id()

    uri = QgsDataSourceUri()
    uri.setParam("url", url)
    uri.setParam("typename", "grids")
    if authcfg:
        uri.setAuthConfigId(authcfg)
    layer = QgsVectorLayer(uri.uri(False), "grids", "OAPIF")
    out["valid"] = layer.isValid()
    caps = layer.dataProvider().capabilities() if layer.isValid() else 0
    need = QgsVectorDataProvider.ChangeGeometries | QgsVectorDataProvider.ChangeAttributeValues
    out["capabilities"] = layer.dataProvider().capabilitiesString() if layer.isValid() else ""
    out["can_edit"] = (caps & need) == need
    if not out["can_edit"]:
        finish(out)
    if not authcfg:
        out["error"] = "this QGIS can edit but has no API Header authentication method"
        finish(out)

    QgsProject.instance().addMapLayer(layer)
    QgsProject.instance().setTopologicalEditing(True)
    feat = next(layer.getFeatures(QgsFeatureRequest().setFilterExpression(f"\"code\" = '{code}'")), None)
    if feat is None:
        out["error"] = f"no grid {code} in the layer"
        finish(out)
    at = feat.geometry().vertexAt(0)
    to = QgsPointXY(at.x() + dlon, at.y() + dlat)
    out["from"] = [at.x(), at.y()]
    out["to"] = [to.x(), to.y()]
    layer.startEditing()
    # The vertex tool with topological editing: every feature with a vertex
    # at the same place gets the same move.
    moved = []
    for f in layer.getFeatures():
        at_i = [i for i, v in enumerate(f.geometry().vertices())
                if abs(v.x() - at.x()) < 1e-12 and abs(v.y() - at.y()) < 1e-12]
        g = QgsGeometry(f.geometry())
        for i in at_i:
            g.moveVertex(to.x(), to.y(), i)
        if at_i:
            layer.changeGeometry(f.id(), g)
            moved.append(f["code"])
    out["moved_in"] = sorted(moved)
    layer.changeAttributeValue(feat.id(), layer.fields().indexOf("note"), note)
    out["committed"] = layer.commitChanges()
    out["errors"] = layer.commitErrors()
    finish(out)


def finish(out):
    print(json.dumps(out, ensure_ascii=False))
    sys.stdout.flush()
    # QGIS crashes in exitQgis() while tearing down the OAPIF provider's
    # download threads; everything is written by now.
    os._exit(0)


if __name__ == "__main__":
    main()
