// Line charts of up to the last 15 minutes, drawn as SVG by the page: a few dozen lines with no
// library to ship, update or audit, and nothing the page's CSP (default-src 'self') must allow.
const NS = "http://www.w3.org/2000/svg";
const WIDTH = 600;
const HEIGHT = 150;
export const WINDOW_MS = 15 * 60 * 1000;
// A server that has not been watched for long fills the width with what it has (at least a minute).
const MIN_SPAN_MS = 60 * 1000;
// Samples further apart than this were not taken (no console was open): the line breaks there.
const GAP_MS = 3500;

function svg(tag, attributes = {}) {
  const element = document.createElementNS(NS, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  return element;
}

// A figure in `container` with one line per series ({label, value: sample => number}).
// Returns update(samples, now, format).
export function lineChart(container, { id, title, series }) {
  const figure = document.createElement("figure");
  figure.className = "chart";
  figure.id = id;
  const caption = document.createElement("figcaption");
  const name = document.createElement("span");
  name.textContent = title;
  const top = document.createElement("span");
  top.className = "chart-max";
  caption.append(name, top);

  const plot = svg("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, preserveAspectRatio: "none", role: "img" });
  for (const fraction of [0, 0.5, 1]) {
    const y = (HEIGHT - 1) * fraction + 0.5;
    plot.append(svg("line", { class: "grid", x1: 0, x2: WIDTH, y1: y, y2: y }));
  }
  const lines = series.map((_, index) => {
    const path = svg("path", { class: `line s${index}`, d: "" });
    plot.append(path);
    return path;
  });

  const legend = document.createElement("ul");
  legend.className = "legend";
  const values = series.map((entry, index) => {
    const item = document.createElement("li");
    const swatch = document.createElement("span");
    swatch.className = `swatch s${index}`;
    const value = document.createElement("strong");
    item.append(swatch, `${entry.label} `, value);
    legend.append(item);
    return value;
  });
  const axis = document.createElement("p");
  axis.className = "axis";
  const since = document.createElement("span");
  const now = document.createElement("span");
  now.textContent = "now";
  axis.append(since, now);
  figure.append(caption, plot, axis, legend);
  container.append(figure);

  return function update(samples, now, format) {
    const recent = samples.filter((sample) => sample.t >= now - WINDOW_MS);
    const span = Math.min(WINDOW_MS, Math.max(MIN_SPAN_MS, recent.length ? now - recent[0].t : 0));
    const from = now - span;
    const shown = recent.filter((sample) => sample.t >= from);
    since.textContent = span >= 120000 ? `${Math.round(span / 60000)} min ago` : `${Math.round(span / 1000)} s ago`;
    let max = 0;
    for (const entry of series) for (const sample of shown) max = Math.max(max, entry.value(sample));
    const scale = niceCeiling(max);
    top.textContent = `max ${format(scale)}`;
    series.forEach((entry, index) => {
      let d = "";
      let previous = null;
      for (const sample of shown) {
        const x = ((sample.t - from) / span) * WIDTH;
        const y = HEIGHT - (entry.value(sample) / scale) * (HEIGHT - 2) - 1;
        d += `${previous === null || sample.t - previous > GAP_MS ? "M" : "L"}${x.toFixed(1)} ${y.toFixed(1)}`;
        previous = sample.t;
      }
      lines[index].setAttribute("d", d);
      const last = shown.length ? entry.value(shown[shown.length - 1]) : 0;
      values[index].textContent = format(last);
    });
    plot.dataset.points = String(shown.length);
    plot.dataset.max = String(max);
    const summary = series.map((entry, index) => `${entry.label} ${values[index].textContent}`).join(", ");
    plot.setAttribute("aria-label", `${title}, ${since.textContent} to now; now ${summary}; highest ${format(max)}`);
  };
}

// 1, 2 or 5 times a power of ten, at least `value` (and at least 1).
function niceCeiling(value) {
  if (value <= 1) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}
