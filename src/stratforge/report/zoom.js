// Re-thins the drawn series to the visible x range after a pan or zoom (debounced).
// The same rules as stratforge/report/series.py: OHLC buckets for bars, min/max points for
// lines. When the embedded data is itself thinned and an API address is known, the
// full-resolution rows of the window are fetched and thinned here instead.
// Arguments: xr, views, details, kinds, primaries, names, strides, buckets, fetch_url,
// fetch_limit, headers.
if (xr._sf_timer) clearTimeout(xr._sf_timer)
xr._sf_timer = setTimeout(update, 80)

function lower(t, x) { let lo = 0, hi = t.length; while (lo < hi) { const m = (lo + hi) >> 1; if (t[m] < x) lo = m + 1; else hi = m } return lo }
function upper(t, x) { let lo = 0, hi = t.length; while (lo < hi) { const m = (lo + hi) >> 1; if (t[m] <= x) lo = m + 1; else hi = m } return lo }

function starts_of(rows, n) {
  const out = []
  let last = -1
  for (let k = 0; k < n; k++) { const s = Math.floor(k * rows / n); if (s !== last) { out.push(s); last = s } }
  return out
}

function slice(data, a, b) {
  const out = {}
  for (const key of Object.keys(data)) out[key] = Array.prototype.slice.call(data[key], a, b)
  return out
}

function ohlc(data, n) {
  const rows = data.t.length
  if (rows <= n) return data
  const s = starts_of(rows, n), out = {t: [], open: [], high: [], low: [], close: [], volume: []}
  for (let k = 0; k < s.length; k++) {
    const a = s[k], b = k + 1 < s.length ? s[k + 1] : rows
    let hi = -Infinity, lo = Infinity, vol = 0
    for (let i = a; i < b; i++) { hi = Math.max(hi, data.high[i]); lo = Math.min(lo, data.low[i]); vol += data.volume[i] }
    out.t.push(data.t[a]); out.open.push(data.open[a]); out.close.push(data.close[b - 1])
    out.high.push(hi); out.low.push(lo); out.volume.push(vol)
  }
  return out
}

function minmax(data, primary, n) {
  const rows = data.t.length
  if (rows <= 2 * n) return data
  const s = starts_of(rows, n), v = data[primary], pick = []
  for (let k = 0; k < s.length; k++) {
    const a = s[k], b = k + 1 < s.length ? s[k + 1] : rows
    let lo = a, hi = a
    for (let i = a; i < b; i++) { if (v[i] < v[lo]) lo = i; if (v[i] > v[hi]) hi = i }
    if (lo === hi) pick.push(lo); else if (lo < hi) pick.push(lo, hi); else pick.push(hi, lo)
  }
  const out = {}
  for (const key of Object.keys(data)) out[key] = pick.map((i) => data[key][i])
  return out
}

function geometry(data) {
  const t = data.t, gaps = []
  for (let i = 1; i < t.length; i++) gaps.push(t[i] - t[i - 1])
  gaps.sort((x, y) => x - y)
  const spacing = gaps.length ? gaps[Math.floor(gaps.length / 2)] : 86400000
  data.top = data.open.map((o, i) => Math.max(o, data.close[i]))
  data.bottom = data.open.map((o, i) => Math.min(o, data.close[i]))
  data.up = data.open.map((o, i) => (data.close[i] >= o ? 1 : 0))
  data.w = t.map(() => spacing * 0.8)
  return data
}

function show(k, data) {
  const thinned = kinds[k] === "ohlc" ? geometry(ohlc(data, buckets)) : minmax(data, primaries[k], buckets)
  views[k].data = thinned
}

function update() {
  const span = xr.end - xr.start, lo = xr.start - span * 0.25, hi = xr.end + span * 0.25
  let native = 0
  for (let k = 0; k < views.length; k++) {
    const src = details[k].data, t = src.t
    const a = Math.max(lower(t, lo) - 1, 0), b = Math.min(upper(t, hi) + 1, t.length)
    show(k, slice(src, a, b))
    if (strides[k] > 1) native = Math.max(native, (b - a) * strides[k])
  }
  if (fetch_url && native > 0 && native <= fetch_limit) fetch_window(lo, hi)
}

function fetch_window(lo, hi) {
  const url = `${fetch_url}?start=${Math.floor(lo)}&end=${Math.ceil(hi)}`
  xr._sf_request = url
  fetch(url, {headers: headers}).then((r) => r.ok ? r.json() : null).then((json) => {
    if (!json || xr._sf_request !== url) return  // a newer view superseded this one
    for (let k = 0; k < views.length; k++) if (json[names[k]]) show(k, json[names[k]])
  }).catch(() => {})
}
