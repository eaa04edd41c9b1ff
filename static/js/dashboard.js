// dashboard.js: the operator's live view of one activity (admin page). The
// push hub streams the activity's stats once a second (API.md "Push
// channel"); this keeps the last minutes of them and draws, per item, the
// units remaining, queued, unpaid and paid, and for the whole sale the orders
// per second and the handler's backlog (accepted orders not yet in MySQL),
// with uPlot (static/vendor/uplot, MIT), a small canvas chart library.
const KEEP_S = 300; // five minutes of one point a second
const ITEM_SERIES = [
  ['remaining', '#2f6fdf'], ['queued', '#d08a00'], ['unpaid', '#c0392b'], ['paid', '#1e8e4e'],
];

export class Dashboard {
  // root: the element the charts go in; figures: {rate, backlog, ticks} elements
  constructor(root, figures) {
    this.root = root;
    this.figures = figures;
    this.reset(0);
  }

  reset(aid) {
    this.aid = aid;
    this.t = [];            // seconds
    this.items = new Map(); // item_id -> {data: {remaining: [], ...}, chart}
    this.rate = [];
    this.backlog = [];
    this.lastTotal = null;
    this.lastT = null;
    this.ticks = 0;
    this.root.replaceChildren();
    this.saleChart = null;
    this.figures.rate.textContent = '–';
    this.figures.backlog.textContent = '–';
  }

  width() { return Math.max(280, Math.min(this.root.clientWidth || 600, 900) - 8); }

  chart(title, series, cls) {
    const box = document.createElement('div');
    box.className = `chart ${cls}`;
    this.root.append(box);
    const opts = {
      title, width: this.width(), height: 180,
      scales: { x: { time: true } },
      series: [{}, ...series.map(([label, stroke]) => ({ label, stroke, width: 2 }))],
      axes: [{}, { size: 50 }],
    };
    const data = [[], ...series.map(() => [])];
    return new window.uPlot(opts, data, box);
  }

  // One stats value from the hub: {type:"stats", now_ms, activity_id, backlog, items:[...]}
  add(s) {
    if (s.activity_id !== this.aid || !Array.isArray(s.items)) return;
    const t = s.now_ms / 1000;
    // units taken so far: every accepted unit is in exactly one of these
    const total = s.items.reduce((n, it) => n + ['queued', 'unpaid', 'paid', 'closed', 'cancelled', 'failed']
      .reduce((m, k) => m + (Number(it[k]) || 0), 0), 0);
    const rate = this.lastTotal === null || t <= this.lastT ? 0
      : Math.max(0, (total - this.lastTotal) / (t - this.lastT));
    this.lastTotal = total;
    this.lastT = t;
    const backlog = Number(s.backlog) || s.items.reduce((n, it) => n + (Number(it.queued) || 0), 0);

    this.t.push(t);
    this.rate.push(rate);
    this.backlog.push(backlog);
    for (const it of s.items) {
      let e = this.items.get(it.item_id);
      if (!e) {
        // an item seen late gets empty points before it
        e = { data: Object.fromEntries(ITEM_SERIES.map(([k]) => [k, Array(this.t.length - 1).fill(null)])) };
        e.chart = this.chart(`item ${it.item_id}`, ITEM_SERIES, 'item');
        e.chart.root.dataset.iid = it.item_id;
        this.items.set(it.item_id, e);
      }
      for (const [k] of ITEM_SERIES) e.data[k].push(Number(it[k]) || 0);
    }
    for (const e of this.items.values()) // items missing from this tick
      for (const [k] of ITEM_SERIES) if (e.data[k].length < this.t.length) e.data[k].push(null);
    if (!this.saleChart)
      this.saleChart = this.chart('orders/s and handler backlog', [['orders/s', '#6b3fd4'], ['backlog', '#d08a00']], 'sale');

    const cut = Math.max(0, this.t.length - KEEP_S);
    if (cut) {
      this.t.splice(0, cut); this.rate.splice(0, cut); this.backlog.splice(0, cut);
      for (const e of this.items.values()) for (const [k] of ITEM_SERIES) e.data[k].splice(0, cut);
    }
    for (const e of this.items.values()) e.chart.setData([this.t, ...ITEM_SERIES.map(([k]) => e.data[k])]);
    this.saleChart.setData([this.t, this.rate, this.backlog]);

    this.ticks++;
    this.figures.rate.textContent = rate.toFixed(1);
    this.figures.backlog.textContent = String(backlog);
    this.figures.ticks.dataset.ticks = String(this.ticks);
  }
}
