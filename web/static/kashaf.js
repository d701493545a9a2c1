// Small progressive enhancements; every page works without this file.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // Changing the sort order or how words combine re-runs the search at once.
  for (const select of document.querySelectorAll("select.autosubmit")) {
    select.addEventListener("change", () => select.form.requestSubmit());
  }
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
