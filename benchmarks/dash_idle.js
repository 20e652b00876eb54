/* When has a Dash page finished what a user waits for? Injected before any page script (Playwright's
   add_init_script) by page_speed.py and load.py, and by tests/e2e/test_page_speed_instrument.py, which checks it still
   sees the draws.

   window.__dashIdle counts callback requests in flight ("pending") and Plotly draws in progress ("drawing"); "last" is
   two animation frames after the latest of them ended: the frame that shows it has been painted.

   A request's end alone is not the end of the wait: fetch resolves when the response's headers arrive, and Dash then
   reads and parses the body and hands the figure to Plotly, whose drawing (50-100 ms for a 30-day graph of 8 sites)
   came after those two frames in about half the runs. Measured on the demo's fuel toggle (2026-12-07): ended at the
   request, the replayed floor's median was 117 ms and the real page's 216 (1.85x); ended at the draw, 203 and 221
   (1.09x). So every Plotly.react / Plotly.newPlot (dcc.Graph calls the global Plotly) is counted until its promise
   settles. */
(() => {
  const state = {pending: 0, drawing: 0, last: 0, count: 0, draws: 0};
  window.__dashIdle = state;
  const settled = (counter) => () =>
    requestAnimationFrame(() =>
      requestAnimationFrame(() => {
        state[counter] -= 1;
        state.last = performance.now();
      }),
    );

  const originalFetch = window.fetch;
  window.fetch = function (input) {
    const url = typeof input === 'string' ? input : input.url;
    if (!url.includes('_dash-update-component')) return originalFetch.apply(this, arguments);
    state.pending += 1;
    state.count += 1;
    return originalFetch.apply(this, arguments).finally(settled('pending'));
  };

  const timeDraws = (plotly) => {
    for (const name of ['react', 'newPlot']) {
      const draw = plotly && plotly[name];
      if (typeof draw !== 'function' || draw.__timed) continue;
      const timed = function () {
        state.drawing += 1;
        state.draws += 1;
        const done = settled('drawing');
        let result;
        try {
          result = draw.apply(this, arguments);
        } catch (error) {
          done();
          throw error;
        }
        Promise.resolve(result).then(done, done);
        return result;
      };
      timed.__timed = true;
      plotly[name] = timed;
    }
    return plotly;
  };
  let plotly = window.Plotly && timeDraws(window.Plotly);
  Object.defineProperty(window, 'Plotly', {
    configurable: true,
    get: () => plotly,
    set: (value) => {
      plotly = timeDraws(value);
    },
  });
})();
