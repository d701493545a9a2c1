// Small progressive enhancements; every page works without this file.
"use strict";

// Brushing on the timeline: press on a bar and drag across others to choose a date range.
// Without this script each bar is still a link to its own period.
function brushTimeline(svg) {
  const bars = Array.from(svg.querySelectorAll("a.bar"));
  if (!bars.length) return;
  const brush = svg.querySelector(".brush");
  let anchor = null;
  let current = null;
  let moved = false;
  let handled = false;

  const barAt = (event) => {
    const el = document.elementFromPoint(event.clientX, event.clientY);
    return el && el.closest ? el.closest("a.bar") : null;
  };
  const range = () => {
    const a = bars.indexOf(anchor);
    const b = bars.indexOf(current);
    return [Math.min(a, b), Math.max(a, b)];
  };
  const paint = () => {
    const [lo, hi] = range();
    bars.forEach((bar, i) => bar.classList.toggle("brushed", i >= lo && i <= hi));
    const boxes = bars.slice(lo, hi + 1).map((bar) => bar.querySelector(".hit-area"));
    const xs = boxes.flatMap((r) => [Number(r.getAttribute("x")), Number(r.getAttribute("x")) + Number(r.getAttribute("width"))]);
    brush.setAttribute("x", Math.min(...xs));
    brush.setAttribute("width", Math.max(...xs) - Math.min(...xs));
  };
  svg.addEventListener("pointerdown", (event) => {
    const bar = barAt(event);
    if (!bar || event.button !== 0) return;
    anchor = current = bar;
    moved = false;
    svg.setPointerCapture(event.pointerId);
    event.preventDefault();
    paint();
  });
  svg.addEventListener("pointermove", (event) => {
    if (!anchor) return;
    const bar = barAt(event);
    if (bar && bar !== current) {
      current = bar;
      moved = true;
      paint();
    }
  });
  const finish = (event) => {
    if (!anchor) return;
    const [lo, hi] = range();
    const first = bars[lo];
    const last = bars[hi];
    anchor = current = null;
    handled = true;
    if (event.type === "pointercancel") {
      bars.forEach((bar) => bar.classList.remove("brushed"));
      brush.setAttribute("width", 0);
      return;
    }
    // One bar: its own link; several: the same URL with the brushed range.
    const url = new URL(first.getAttribute("href"), window.location.href);
    if (moved) url.searchParams.set("to", last.dataset.end);
    window.location.assign(url.toString());
  };
  svg.addEventListener("pointerup", finish);
  svg.addEventListener("pointercancel", finish);
  // The click that follows a pointer gesture must not navigate a second time (a keyboard
  // Enter on a focused bar is a click with no gesture: it follows the link as usual).
  svg.addEventListener("click", (event) => {
    if (handled && event.target.closest("a.bar")) event.preventDefault();
    handled = false;
  });
}

document.addEventListener("DOMContentLoaded", () => {
  // Changing the sort order, how words combine, the source or lineage re-runs the search at once.
  for (const control of document.querySelectorAll(".autosubmit")) {
    control.addEventListener("change", () => control.form.requestSubmit());
  }
  for (const svg of document.querySelectorAll("svg.histogram")) brushTimeline(svg);
  // "/" jumps to the search box, as on many search sites.
  const box = document.getElementById("q");
  document.addEventListener("keydown", (event) => {
    const tag = (event.target.tagName || "").toLowerCase();
    if (box && event.key === "/" && tag !== "input" && tag !== "select" && tag !== "textarea") {
      event.preventDefault();
      box.focus();
      box.select();
    }
  });
});
