// gridd's command-centre dashboard: the open cases on the gridd map (circles
// coloured by state, overdue ones outlined red), a choropleth of one
// evaluation rate by community, street or grid over a period, a hot-spot layer of the
// reports counted in H3 cells, uPlot charts of the cases reported per week
// and of the open cases by major class, and a side panel with a clicked
// case's timeline and photos. Changes are pushed by the server
// (/v1/cases/feed) and redrawn without reload. Case reads always need a token:
// the page asks for one (viewer or above) when it has none, keeps it for the
// tab under the map page's key and sends it only to this server.
import maplibregl from 'maplibre-gl';
import 'maplibre-gl/dist/maplibre-gl.css';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import './dashboard.css';
import { NeedsToken, pageAuth } from './auth.js';

const OPEN_STATES = [
  ['reported', '上报 reported', '#9e9e9e'],
  ['filed', '立案 filed', '#1f78b4'],
  ['dispatched', '派遣 dispatched', '#ff7f00'],
  ['handled', '处置 handled', '#33a02c'],
  ['verified', '核查 verified', '#6a3d9a'],
  ['suspended', '挂账 suspended', '#b15928'],
];
const RAMP = ['#d7191c', '#fdae61', '#ffffbf', '#a6d96a', '#1a9641']; // 0 → 1
const HOT_RAMP = ['#ffffb2', '#fecc5c', '#fd8d3c', '#f03b20', '#bd0026']; // reports per km²
const HOT_STEPS = [1, 10, 50, 200, 1000];
const POLL_MS = 60000; // only while the pushed feed is down
const REDRAW_MS = 1000; // changes pushed within this are redrawn once
const CJK_FONTS = "'Noto Sans CJK SC', 'Noto Sans SC', 'Source Han Sans SC', 'PingFang SC', 'Microsoft YaHei', 'WenQuanYi Micro Hei', sans-serif";

const $ = (id) => document.getElementById(id);
const status = (msg, isError) => {
  const el = $('status');
  el.textContent = msg;
  el.className = isError ? 'error' : '';
};

// What the page has drawn, for the browser test and the curious.
const dash = { errors: [], ready: false, cases: 0, choropleth: {}, polls: 0, pushed: 0, redraws: 0, feed: 'closed' };
window.griddDashboard = dash;

// The API token (auth.js): kept for the tab, sent only to gridd.
let map = null;
const auth = pageAuth({
  $,
  prompt: 'The dashboard needs an API token (viewer or above).',
  refusals: [401, 403],
  // A map already drawn reloads with the new token; otherwise start now.
  onToken: () => { if (map) location.reload(); else run(); },
});
const { askToken, getJSON } = auth;

// The period: [from, to) in whole China days, ending with today.
const DAY = 86400000;
const chinaDate = (ms) => new Date(ms + 8 * 3600000).toISOString().slice(0, 10);
function period() {
  const days = Number($('period').value);
  const to = chinaDate(Date.now() + DAY); // tomorrow 00:00: today included
  const from = chinaDate(Date.now() + DAY - days * DAY);
  return { from, to, days };
}

// ---- open cases -------------------------------------------------------

let openCases = [];
async function loadOpenCases() {
  // One request per open state (the list answers at most 1000 a state).
  const lists = await Promise.all(OPEN_STATES.map(([s]) => getJSON(`/v1/cases?state=${s}&limit=1000`)));
  openCases = lists.flatMap((l) => l.cases || []);
  const fc = {
    type: 'FeatureCollection',
    features: openCases.map((c) => ({
      type: 'Feature', id: c.id,
      geometry: { type: 'Point', coordinates: c.location },
      properties: { id: c.id, state: c.state, overdue: !!c.overdue, class: c.class ? c.class.name : '' },
    })),
  };
  dash.cases = fc.features.length;
  dash.features = fc.features;
  dash.overdue = openCases.filter((c) => c.overdue).length;
  if (map && map.getSource('cases')) map.getSource('cases').setData(fc);
  drawClassChart();
  return fc;
}

// ---- choropleth -------------------------------------------------------

// The areas the choropleth shades: the evaluation's grouping and the tile
// layer that draws those areas (feature ids are the numeric codes,
// tiles/layers.go).
const LEVELS = { community: 'communities', street: 'streets', grid: 'grids' };
let rows = [];
let shaded = []; // [sourceLayer, id] with a rate set
function colourAreas() {
  const rate = $('rate').value;
  const sourceLayer = LEVELS[$('level').value];
  for (const [sl, id] of shaded) map.removeFeatureState({ source: 'gridd', sourceLayer: sl, id });
  shaded = [];
  // Good is green: high rates, but a low rework rate.
  const ramp = rate === 'rework_rate' ? [...RAMP].reverse() : RAMP;
  addChoropleth(sourceLayer, ramp);
  const states = {};
  for (const r of rows) {
    const v = r[rate];
    const id = Number(r.code);
    if (v === null || v === undefined || !Number.isFinite(id)) continue;
    map.setFeatureState({ source: 'gridd', sourceLayer, id }, { rate: v });
    shaded.push([sourceLayer, id]);
    states[r.code] = v;
  }
  dash.choropleth = states;
  dash.level = $('level').value;
  const label = $('rate').selectedOptions[0].textContent;
  $('legend').innerHTML = `<span>0%</span><span class="ramp" style="background:linear-gradient(to right,${ramp.join(',')})"></span>` +
    `<span>100%</span><span class="none"></span><span>no cases</span>`;
  $('legend').title = label;
}

// addChoropleth (re)draws the choropleth layer over the areas of one tile
// layer, under the style's lines and labels and the hot spots.
function addChoropleth(sourceLayer, ramp) {
  const old = map.getLayer('dash-choropleth');
  if (old && old.sourceLayer === sourceLayer) {
    map.setPaintProperty('dash-choropleth', 'fill-color', choroplethColour(ramp));
    return;
  }
  if (old) map.removeLayer('dash-choropleth');
  const before = map.getStyle().layers.find((l) => l.id === 'communities-line' || l.id.startsWith('mgmt_grids-') || l.id === 'dash-hotspots');
  map.addLayer({
    id: 'dash-choropleth', type: 'fill', source: 'gridd', 'source-layer': sourceLayer,
    filter: ['==', ['geometry-type'], 'Polygon'],
    paint: { 'fill-color': choroplethColour(ramp), 'fill-opacity': 0.55 },
  }, before ? before.id : undefined);
}

async function loadEvaluation() {
  const p = period();
  const body = await getJSON(`/v1/evaluation?by=${$('level').value}&from=${p.from}&to=${p.to}`);
  rows = body.rows || [];
  dash.rows = rows;
  colourAreas();
}

// ---- hot spots --------------------------------------------------------

// The hot-spot tiles of the period's months (China time): reports per km²
// in H3 cells; gen changes the URL when pushed reports add to them.
let hotGen = 0;
function hotspotTiles() {
  const p = period();
  const month = (d) => d.slice(0, 7);
  const last = chinaDate(Date.parse(p.to + 'T00:00:00+08:00') - DAY); // the period's last day
  return [`${location.origin}/v1/cases/hotspots/{z}/{x}/{y}.mvt?from=${month(p.from)}&to=${month(last)}&gen=${hotGen}`];
}
function refreshHotspots() {
  const src = map && map.getSource('hotspots');
  if (src) src.setTiles(hotspotTiles());
  dash.hotspotTiles = hotspotTiles()[0];
}
function hotLegend() {
  $('hot-legend').innerHTML = HOT_STEPS.map((v, i) => `<span style="--c:${HOT_RAMP[i]}">≥${v}</span>`).join('');
}

// ---- charts -----------------------------------------------------------

let weekChart = null;
let classChart = null;
const chartWidth = () => $('panel').clientWidth - 24; // less the padding

// Cases reported per week and by major class over the period, in one
// request (/v1/cases/stats).
async function loadWeeks() {
  const p = period();
  const body = await getJSON(`/v1/cases/stats?from=${p.from}&to=${p.to}`);
  const weeks = body.weeks || [];
  const counts = weeks.map((w) => w.opened);
  const data = [weeks.map((w) => Date.parse(w.start) / 1000), counts];
  dash.weeks = counts;
  if (weekChart) weekChart.destroy();
  weekChart = new uPlot({
    width: chartWidth(), height: 180,
    scales: { x: { time: true }, y: { range: (u, lo, hi) => [0, Math.max(1, hi * 1.1)] } },
    series: [{}, { label: 'reported', stroke: '#1f78b4', width: 2, fill: 'rgba(31,120,180,.12)', points: { show: weeks.length < 20 } }],
    axes: [{}, { size: 40 }],
    legend: { show: false },
  }, data, $('chart-weeks'));
}

function drawClassChart() {
  const counts = {};
  for (const c of openCases) {
    const k = (c.class && (c.class.major_name || c.class.name)) || '?';
    counts[k] = (counts[k] || 0) + 1;
  }
  const names = Object.keys(counts).sort((a, b) => counts[b] - counts[a]);
  const data = [names.map((_, i) => i), names.map((n) => counts[n])];
  dash.classes = counts;
  if (classChart) classChart.destroy();
  classChart = new uPlot({
    width: chartWidth(), height: 180,
    scales: { x: { time: false, range: [-0.5, Math.max(names.length, 1) - 0.5] }, y: { range: (u, lo, hi) => [0, Math.max(1, hi * 1.1)] } },
    series: [{}, { label: 'open cases', stroke: '#ff7f00', fill: 'rgba(255,127,0,.6)', width: 1,
      paths: uPlot.paths.bars({ size: [0.7, 60] }), points: { show: false } }],
    axes: [{ values: (u, splits) => splits.map((i) => names[i] || ''), splits: () => names.map((_, i) => i), gap: 2, size: 30 }, { size: 40 }],
    legend: { show: false },
  }, data, $('chart-classes'));
}

// ---- a case's side panel ----------------------------------------------

const fmtTime = (s) => new Date(s).toLocaleString('zh-CN', { timeZone: 'Asia/Shanghai', hour12: false });
const esc = (s) => String(s ?? '').replace(/[&<>"]/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[ch]));
let photoURLs = [];

async function showCase(id) {
  const panel = $('case');
  panel.hidden = false;
  panel.dataset.id = String(id);
  panel.dataset.loaded = '';
  $('case-title').textContent = `案件 case ${id}`;
  $('case-meta').textContent = '…';
  $('timeline').innerHTML = '';
  $('photos').innerHTML = '';
  for (const u of photoURLs) URL.revokeObjectURL(u);
  photoURLs = [];
  const c = await getJSON(`/v1/cases/${id}`);
  if ($('case').dataset.id !== String(id)) return; // another case was clicked since
  const meta = [
    `${c.class ? `${c.class.code} ${c.class.name}（${c.class.major_name || ''}）` : ''}`,
    `state: ${c.state}${c.department ? ' · ' + (c.department.name || c.department.code) : ''}`,
    c.deadline ? `deadline: ${fmtTime(c.deadline)}` : '',
    c.description || '',
  ].filter(Boolean);
  $('case-meta').innerHTML = meta.map(esc).join('\n') + (c.overdue ? '\n<span class="late">超期 overdue</span>' : '');
  $('timeline').innerHTML = (c.events || []).map((e) => `<li><time>${esc(fmtTime(e.at))}</time>` +
    `<b>${esc(e.step)}</b> → ${esc(e.to)} · ${esc(e.role)}${e.department ? ' · ' + esc(e.department) : ''}` +
    `${e.reason || e.note ? `<div class="why">${esc(e.reason || e.note)}</div>` : ''}</li>`).join('');
  let photos = [];
  try {
    photos = (await getJSON(`/v1/cases/${id}/photos`)).photos || [];
  } catch (e) {
    if (e instanceof NeedsToken) throw e; // else: photos not served here
  }
  // Photos need the token too, so they are fetched and shown as blobs.
  for (const p of photos) {
    const resp = await auth.apiFetch(p.url);
    if (!resp.ok) continue;
    const u = URL.createObjectURL(await resp.blob());
    photoURLs.push(u);
    const img = document.createElement('img');
    img.src = u;
    img.alt = `${p.step || ''} ${p.added || ''}`;
    img.title = img.alt;
    $('photos').appendChild(img);
  }
  if (!photos.length) $('photos').textContent = 'no photos';
  panel.dataset.loaded = String((c.events || []).length);
}
$('case-close').addEventListener('click', () => { $('case').hidden = true; });
dash.showCase = (id) => showCase(id).catch(report);

function report(e) {
  if (e instanceof NeedsToken) {
    status('an API token (viewer or above) is needed', true);
    return;
  }
  dash.errors.push(e.message);
  status(e.message, true);
}

// The choropleth's colour: transparent without a rate, else the ramp.
function choroplethColour(ramp) {
  return ['case', ['==', ['feature-state', 'rate'], null], 'rgba(0,0,0,0)',
    ['interpolate', ['linear'], ['feature-state', 'rate'], ...ramp.flatMap((c, i) => [i / (ramp.length - 1), c])]];
}

// ---- the map ----------------------------------------------------------

async function start() {
  // Case reads always need a token: ask before anything else.
  if (!auth.hasToken()) {
    askToken('The dashboard reads cases: enter an API token (viewer or above).');
    throw new NeedsToken('no token');
  }
  const style = await getJSON('/styles/gridd.json');
  const tj = await getJSON(style.sources.gridd.url);
  const first = await loadOpenCases(); // also checks the token can read cases
  status('');
  // The first view: the open cases (a little around them), else the data.
  let b = tj.bounds;
  if (first.features.length) {
    const xs = first.features.map((f) => f.geometry.coordinates[0]);
    const ys = first.features.map((f) => f.geometry.coordinates[1]);
    const m = 0.003;
    b = [Math.min(...xs) - m, Math.min(...ys) - m, Math.max(...xs) + m, Math.max(...ys) + m];
  }
  const fit = b[2] > b[0] && b[3] > b[1] && b[2] - b[0] < 180;
  const view = fit
    ? { bounds: [[b[0], b[1]], [b[2], b[3]]], fitBoundsOptions: { padding: 24, maxZoom: 16 } }
    : { center: tj.center.slice(0, 2), zoom: Math.max(tj.center[2], 11) };
  map = new maplibregl.Map({
    container: 'map', style, ...view,
    transformRequest: auth.transformRequest,
    localIdeographFontFamily: CJK_FONTS, attributionControl: { compact: true },
  });
  window.griddMap = map;
  map.addControl(new maplibregl.NavigationControl(), 'top-right');
  map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-left');
  map.on('error', (e) => {
    const msg = (e.error && e.error.message) || String(e);
    if (e.error && e.error.status === 401) askToken('The server refused the token: ' + msg);
    dash.errors.push(msg);
    status('map error: ' + msg, true);
  });

  map.on('load', async () => {
    // The choropleth: the areas' polygons coloured by feature-state.
    addChoropleth(LEVELS[$('level').value], RAMP);
    map.addSource('hotspots', { type: 'vector', tiles: hotspotTiles(), minzoom: 0, maxzoom: 16 });
    dash.hotspotTiles = hotspotTiles()[0];
    map.addLayer({
      id: 'dash-hotspots', type: 'fill', source: 'hotspots', 'source-layer': 'hotspots',
      paint: {
        'fill-color': ['step', ['get', 'density'], HOT_RAMP[0], ...HOT_STEPS.slice(1).flatMap((v, i) => [v, HOT_RAMP[i + 1]])],
        'fill-opacity': 0.6,
        'fill-outline-color': 'rgba(120,0,0,0.35)',
      },
    });
    hotLegend();
    map.addSource('cases', { type: 'geojson', data: first });
    map.addLayer({
      id: 'dash-cases', type: 'circle', source: 'cases',
      paint: {
        'circle-radius': ['interpolate', ['linear'], ['zoom'], 10, 4, 16, 8],
        'circle-color': ['match', ['get', 'state'], ...OPEN_STATES.flatMap(([s, , c]) => [s, c]), '#000'],
        'circle-stroke-color': ['case', ['get', 'overdue'], '#d7191c', '#ffffff'],
        'circle-stroke-width': ['case', ['get', 'overdue'], 3, 1],
      },
    });
    map.on('click', 'dash-cases', (ev) => {
      const f = ev.features && ev.features[0];
      if (f) dash.showCase(f.properties.id);
    });
    map.on('mouseenter', 'dash-cases', () => { map.getCanvas().style.cursor = 'pointer'; });
    map.on('mouseleave', 'dash-cases', () => { map.getCanvas().style.cursor = ''; });
    try {
      await Promise.all([loadEvaluation(), loadWeeks()]);
    } catch (e) {
      report(e);
    }
    map.once('idle', () => { dash.ready = true; });
    map.triggerRepaint();
  });

  $('rate').addEventListener('change', () => colourAreas());
  $('level').addEventListener('change', () => loadEvaluation().catch(report));
  $('period').addEventListener('change', () => {
    refreshHotspots();
    Promise.all([loadEvaluation(), loadWeeks()]).catch(report);
  });
  $('hotspots').addEventListener('change', () => {
    map.setLayoutProperty('dash-hotspots', 'visibility', $('hotspots').checked ? 'visible' : 'none');
  });

  // Updates without reload: the server pushes case changes; they are
  // redrawn at most once a REDRAW_MS. While the feed is down the open
  // cases are polled instead, and a reconnect redraws everything.
  follow();
  setInterval(() => {
    if (dash.feed === 'open') return;
    loadOpenCases().then(() => { dash.polls++; }).catch(report);
  }, POLL_MS);
}

let redrawTimer = null;
let redrawAll = false;
function changed(all) {
  redrawAll = redrawAll || all;
  if (redrawTimer) return;
  redrawTimer = setTimeout(async () => {
    redrawTimer = null;
    const all = redrawAll;
    redrawAll = false;
    hotGen++;
    refreshHotspots();
    try {
      await Promise.all([loadOpenCases(), loadWeeks(), ...(all ? [loadEvaluation()] : [])]);
      dash.redraws++;
    } catch (e) {
      report(e);
    }
  }, REDRAW_MS);
}

// follow reads /v1/cases/feed (Server-Sent Events) with fetch, which sends
// the token (EventSource cannot), and reconnects after a drop.
async function follow() {
  for (;;) {
    try {
      const resp = await auth.apiFetch('/v1/cases/feed');
      if (!resp.ok || !resp.body) throw new Error(`case feed: HTTP ${resp.status}`);
      if (dash.feed === 'lost') changed(true); // what happened meanwhile
      dash.feed = 'open';
      $('live').textContent = '● live';
      const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let end;
        while ((end = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, end);
          buf = buf.slice(end + 2);
          const ev = (block.match(/^event: (.*)$/m) || [])[1];
          if (ev === 'case' || ev === 'reset') {
            dash.pushed++;
            changed(ev === 'reset');
          }
        }
      }
    } catch (e) {
      dash.feedError = e.message;
    }
    dash.feed = 'lost';
    $('live').textContent = '';
    await new Promise((r) => setTimeout(r, 3000));
  }
}

$('states').innerHTML = OPEN_STATES.map(([, label, c]) => `<span style="--c:${c}">${label}</span>`).join('') +
  '<span class="overdue">超期 overdue</span>';

function run() {
  start().catch(report);
}
run();
