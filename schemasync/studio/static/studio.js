// schemasync studio: live table filter, copy buttons, diagram zoom. No dependencies, no inline code.
"use strict";

function setupFilter(input) {
  const table = document.querySelector(input.dataset.filter);
  if (!table) return;
  const rows = Array.from(table.querySelectorAll("tbody tr"));
  const counter = document.querySelector('[data-filter-count="' + input.dataset.filter + '"]');
  const empty = document.querySelector(".empty-filter");
  const apply = () => {
    const needle = input.value.trim().toLowerCase();
    let shown = 0;
    for (const row of rows) {
      const match = !needle || (row.dataset.name || "").includes(needle);
      row.hidden = !match;
      if (match) shown += 1;
    }
    if (counter) counter.textContent = needle ? shown + " of " + rows.length : "";
    if (empty) empty.hidden = shown > 0;
    const url = new URL(window.location.href);
    if (needle) url.searchParams.set("q", input.value.trim()); else url.searchParams.delete("q");
    window.history.replaceState(null, "", url);
  };
  input.addEventListener("input", apply);
  input.form && input.form.addEventListener("submit", (event) => { event.preventDefault(); apply(); });
  input.addEventListener("keydown", (event) => {
    if (event.key !== "Enter") return;
    const first = rows.find((row) => !row.hidden);
    const link = first && first.querySelector("a");
    if (link) { event.preventDefault(); window.location.href = link.href; }
  });
}

function setupCopy(button) {
  button.addEventListener("click", async () => {
    const target = document.querySelector(button.dataset.copy);
    if (!target) return;
    const text = target.textContent;
    try {
      await navigator.clipboard.writeText(text);
    } catch (error) {
      const range = document.createRange();
      range.selectNodeContents(target);
      const selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      document.execCommand("copy");
    }
    const label = button.textContent;
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = label; }, 1200);
  });
}

function setupZoom(group) {
  const wrap = document.querySelector(group.dataset.zoomTarget);
  const svg = wrap && wrap.querySelector("svg");
  if (!svg) return;
  const width = parseFloat(svg.getAttribute("width"));
  const height = parseFloat(svg.getAttribute("height"));
  let scale = 1;
  const set = (value) => {
    scale = Math.min(3, Math.max(0.1, value));
    svg.setAttribute("width", String(Math.round(width * scale)));
    svg.setAttribute("height", String(Math.round(height * scale)));
  };
  group.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-zoom]");
    if (!button) return;
    const action = button.dataset.zoom;
    if (action === "in") set(scale * 1.25);
    else if (action === "out") set(scale / 1.25);
    else set(Math.min(1, (wrap.clientWidth - 4) / width));
  });
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("input[data-filter]").forEach(setupFilter);
  document.querySelectorAll("button[data-copy]").forEach(setupCopy);
  document.querySelectorAll("[data-zoom-target]").forEach(setupZoom);
});
