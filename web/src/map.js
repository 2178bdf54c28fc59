// gridd's map page: the gridd style with layer toggles, a code search that
// flies to the code, a click that shows the lookup for the point, URL
// parameters for center, zoom and layers, and the iframe snippet that embeds
// the current view. With private reads the page asks for an API token when
// the server answers 401 and sends it on every request to this server. The
// social grids come with the legend of their choropleth, read from the style,
// and a click on one shows its households, residents, target and load.
import maplibregl from 'maplibre-gl';
import 'maplibre-gl/dist/maplibre-gl.css';
import './map.css';
import { NeedsToken, pageAuth } from './auth.js';

const TILE_LAYERS = [
  ['districts', '区 districts'],
  ['streets', '街道 streets'],
  ['communities', '社区 communities'],
  ['mgmt_grids', '责任网格 management grids'],
  ['social_grids', '社会管理网格 social grids'],
  ['grids', '单元网格 unit grids'],
  ['components', '部件 components'],
];
// Chinese glyphs are drawn from the viewer's local fonts; gridd's glyph
// endpoint serves the rest (Latin, digits), so the page needs no font service.
const CJK_FONTS = "'Noto Sans CJK SC', 'Noto Sans SC', 'Source Han Sans SC', 'PingFang SC', 'Microsoft YaHei', 'WenQuanYi Micro Hei', sans-serif";

const params = new URLSearchParams(location.search);
const embed = params.get('embed') === '1';
const shown = new Set((params.get('layers') || TILE_LAYERS.map((l) => l[0]).join(',')).split(',').filter(Boolean));
const $ = (id) => document.getElementById(id);
const status = (msg, isError) => {
  const el = $('status');
  el.textContent = msg;
  el.className = isError ? 'error' : '';
};

window.griddErrors = [];
window.griddReady = false;
if (embed) document.body.classList.add('embed');

// The API token (auth.js): kept for the tab, sent only to gridd.
let map = null;
const auth = pageAuth({
  $,
  prompt: 'This map needs an API token.',
  // A map already drawn reloads with the new token; otherwise start now.
  onToken: () => { if (map) location.reload(); else run(); },
});
const { askToken, getJSON, apiFetch } = auth;

// socialLegend fills the element with the classes of the social grids'
// choropleth as the style draws them: the fill colour is
// ['case', hasTarget, ['step', load, c0, b1, c1, ...], byHouseholds], where
// byHouseholds is ['interpolate', ..., households, 0, from, n, to].
function socialLegend(el, style) {
  const fill = style.layers.find((l) => l.id === 'social_grids-fill');
  const color = fill && fill.paint && fill.paint['fill-color'];
  if (!Array.isArray(color) || color[0] !== 'case' || !Array.isArray(color[2]) || color[2][0] !== 'step') return;
  const step = color[2];
  const bounds = [];
  const colors = [step[2]];
  for (let i = 3; i + 1 < step.length; i += 2) {
    bounds.push(step[i]);
    colors.push(step[i + 1]);
  }
  const row = (swatch, text) => {
    const r = document.createElement('div');
    r.className = 'legend-row';
    const sw = document.createElement('span');
    sw.className = 'swatch';
    sw.style.background = swatch;
    const t = document.createElement('span');
    t.textContent = text;
    r.append(sw, t);
    el.appendChild(r);
    return r;
  };
  const title = document.createElement('div');
  title.className = 'legend-title';
  title.textContent = '社会管理网格 load = households / target';
  el.appendChild(title);
  colors.forEach((c, i) => {
    const text = i === 0 ? `< ${bounds[0]}` : i === colors.length - 1 ? `≥ ${bounds[i - 1]}` : `${bounds[i - 1]} – ${bounds[i]}`;
    row(c, text + (i === Math.floor(colors.length / 2) ? ' on target' : '')).dataset.color = c;
  });
  const hh = color[3];
  if (Array.isArray(hh) && hh[0] === 'interpolate' && hh.length >= 7) {
    row(`linear-gradient(to right, ${hh[4]}, ${hh[6]})`, `no target: households 0 – ${hh[5]}+`);
  }
}

// socialLines describes a social grid's feature for the click panel.
function socialLines(p) {
  const target = [p.target_households > 0 ? `${p.target_households}户` : '', p.target_residents > 0 ? `${p.target_residents}人` : '']
    .filter(Boolean).join(' / ');
  return [
    `social grid: ${p.code} ${p.name}`,
    `  households 户数 ${p.households} · residents 人口 ${p.residents}`,
    `  buildings ${p.buildings} · unit grids ${p.unit_grids}`,
    target ? `  target ${target} · load ${Number(p.load).toFixed(2)}` : '  target: none',
  ];
}

function parseCenter(s) {
  const p = (s || '').split(',').map(Number);
  return p.length === 2 && p.every(Number.isFinite) ? p : null;
}

async function start() {
  const style = await getJSON('/styles/gridd.json');
  const tj = await getJSON(style.sources.gridd.url);
  status('');
  // The first view: the URL's center and zoom when it gives either, else
  // the whole of the data (the district) fitted to the window, where the
  // district, street and community names read first. Without data (bounds
  // of the whole world) it is the data's center at zoom 11 or deeper.
  const center = parseCenter(params.get('center'));
  const zoom = parseFloat(params.get('zoom'));
  const b = tj.bounds;
  const fit = !center && !Number.isFinite(zoom) && b[2] > b[0] && b[3] > b[1] && b[2] - b[0] < 180;
  const view = fit
    ? { bounds: [[b[0], b[1]], [b[2], b[3]]], fitBoundsOptions: { padding: 24, maxZoom: 16 } }
    : { center: center || tj.center.slice(0, 2), zoom: Number.isFinite(zoom) ? zoom : Math.max(tj.center[2], 11) };
  map = new maplibregl.Map({
    container: 'map', style, ...view,
    transformRequest: auth.transformRequest,
    // ?localfonts=0 draws Chinese from gridd's glyphs too, as other MapLibre
    // clients of the style do.
    localIdeographFontFamily: params.get('localfonts') === '0' ? false : CJK_FONTS,
    hash: false, attributionControl: { compact: true },
  });
  window.griddMap = map;
  map.addControl(new maplibregl.NavigationControl(), 'top-right');
  map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-left');
  map.on('error', (e) => {
    const msg = (e.error && e.error.message) || String(e);
    if (e.error && e.error.status === 401) askToken('The server refused the token: ' + msg);
    window.griddErrors.push(msg);
    status('map error: ' + msg, true);
  });

  // Layer toggles.
  const box = $('layers');
  for (const [name, label] of TILE_LAYERS) {
    const id = 'toggle-' + name;
    const row = document.createElement('label');
    row.innerHTML = `<input type="checkbox" id="${id}"> ${label}`;
    box.appendChild(row);
    const cb = row.querySelector('input');
    cb.checked = shown.has(name);
    cb.addEventListener('change', () => {
      if (cb.checked) shown.add(name); else shown.delete(name);
      applyLayers();
      updateURL();
    });
  }
  // The social grids' legend shows with the layer, from the start.
  socialLegend($('social-legend'), style);
  const showLegend = () => { $('social-legend').hidden = !shown.has('social_grids') || !$('social-legend').hasChildNodes(); };
  showLegend();
  function applyLayers() {
    for (const l of map.getStyle().layers) {
      const tl = TILE_LAYERS.find(([n]) => l.id.startsWith(n + '-'));
      if (tl) map.setLayoutProperty(l.id, 'visibility', shown.has(tl[0]) ? 'visible' : 'none');
    }
    showLegend();
  }

  // URL parameters and the iframe snippet follow the view.
  function viewQuery() {
    const c = map.getCenter();
    return `center=${c.lng.toFixed(5)},${c.lat.toFixed(5)}&zoom=${map.getZoom().toFixed(2)}&layers=${[...shown].join(',')}`;
  }
  function updateURL() {
    const q = viewQuery();
    history.replaceState(null, '', `${location.pathname}?${q}${embed ? '&embed=1' : ''}`);
    $('snippet').value = `<iframe src="${location.origin}/map?${q}&embed=1" width="800" height="600" style="border:0" title="gridd map"></iframe>`;
  }
  map.on('moveend', updateURL);

  // Search: any division, grid, management-grid or component code.
  $('search').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const code = $('code').value.trim();
    if (!code) return;
    const resp = await apiFetch('/v1/search?code=' + encodeURIComponent(code));
    const body = await resp.json();
    if (resp.status === 401) askToken(body.error ? body.error.message : resp.statusText);
    if (!resp.ok) {
      status(body.error ? body.error.message : resp.statusText, true);
      return;
    }
    status(`${body.kind} ${body.code} ${body.name !== body.code ? body.name : ''}`);
    map.fitBounds([[body.bbox[0], body.bbox[1]], [body.bbox[2], body.bbox[3]]], { padding: 60, maxZoom: 17, duration: 800 });
  });

  // Click: the lookup for the point, and the features drawn under it.
  let selected = null;
  let selectedSocial = null;
  let socialPopup = null;
  map.on('click', async (ev) => {
    const { lng, lat } = ev.lngLat;
    const drawn = {};
    for (const f of map.queryRenderedFeatures(ev.point)) {
      const layer = f.sourceLayer;
      if (layer && !drawn[layer]) drawn[layer] = f;
    }
    if (selected !== null) map.setFeatureState({ source: 'gridd', sourceLayer: 'grids', id: selected }, { selected: false });
    selected = drawn.grids ? drawn.grids.id : null;
    if (selected !== null) map.setFeatureState({ source: 'gridd', sourceLayer: 'grids', id: selected }, { selected: true });
    if (selectedSocial !== null) map.setFeatureState({ source: 'gridd', sourceLayer: 'social_grids', id: selectedSocial }, { selected: false });
    selectedSocial = drawn.social_grids ? drawn.social_grids.id : null;
    if (selectedSocial !== null) map.setFeatureState({ source: 'gridd', sourceLayer: 'social_grids', id: selectedSocial }, { selected: true });
    const lines = [`${lng.toFixed(6)}, ${lat.toFixed(6)}`];
    if (socialPopup) socialPopup.remove();
    socialPopup = null;
    if (drawn.social_grids) {
      const social = socialLines(drawn.social_grids.properties);
      lines.push(...social);
      // With the panel, the social grid also shows in a popup at the click
      // (embedded, the popup below shows it with the rest).
      if (!embed) {
        socialPopup = new maplibregl.Popup({ maxWidth: '340px', className: 'social-popup' })
          .setLngLat(ev.lngLat).setText(social.map((l) => l.trim()).join('\n')).addTo(map);
      }
    }
    const c = drawn.components;
    if (c && c.properties.cluster) {
      lines.push(`components: ${c.properties.point_count} here (zoom in to see each)`);
    } else if (c) {
      lines.push(`component: ${c.properties.code} ${c.properties.class_name || c.properties.class_code} (${c.properties.status})`);
    }
    for (const name of ['grids', 'communities', 'streets', 'districts']) {
      const f = drawn[name];
      if (f) lines.push(`${name}: ${f.properties.code}${f.properties.name ? ' ' + f.properties.name : ''}`);
    }
    const out = $('lookup');
    out.textContent = lines.join('\n') + '\nlookup: …';
    // Embedded without the panel, the drawn divisions show in a popup.
    if (embed) new maplibregl.Popup({ maxWidth: '320px' }).setLngLat(ev.lngLat).setText(lines.slice(1).map((l) => l.trim()).join(' · ') || lines[0]).addTo(map);
    try {
      const resp = await apiFetch(`/v1/lookup?lon=${lng}&lat=${lat}`);
      const text = await resp.text();
      let body;
      try { body = JSON.parse(text); } catch { body = text; }
      if (resp.status === 401) askToken(body && body.error ? body.error.message : text);
      const shownBody = resp.ok ? JSON.stringify(body, null, 1) : `${resp.status}: ${body && body.error ? body.error.message : text}`;
      out.textContent = lines.join('\n') + '\nlookup: ' + shownBody;
      out.dataset.status = String(resp.status);
    } catch (e) {
      out.textContent = lines.join('\n') + '\nlookup failed: ' + e.message;
      out.dataset.status = 'failed';
    }
  });

  map.on('load', () => {
    applyLayers();
    updateURL();
    map.once('idle', () => { window.griddReady = true; });
  });
}

function run() {
  start().catch((e) => {
    if (e instanceof NeedsToken) {
      status('an API token is needed to read this map', true);
      return;
    }
    window.griddErrors.push(e.message);
    status('could not start the map: ' + e.message, true);
  });
}
run();
