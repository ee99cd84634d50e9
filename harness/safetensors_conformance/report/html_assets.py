"""The style sheet and the script inlined into the HTML matrix (the page loads nothing else).

The script only adds to a page that is complete without it: it shows the filter bar, hides rows
and columns that do not match, and keeps the filter state in the URL hash
(``#impl=safetensors&req=HEADER-UNIQUE-NAMES&verdict=failed&q=dup``) so that a link shares a view.
A hash without ``=`` is a plain anchor (a vector id or a requirement id): the script clears any
filter that would hide it and opens that vector's details.

Each requirement's section has ``content-visibility: auto``: the browser lays it out only when it
comes on screen, which keeps the first layout of ten thousand cells short.
"""

from __future__ import annotations

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 1.5em 2em; color: #1d2430; }
h1 { font-size: 1.5em; margin-bottom: .2em; } h2 { font-size: 1.2em; margin: 1.2em 0 .4em; }
.meta, .note { color: #5b6574; }
table { border-collapse: collapse; margin: .5em 0 1em; }
th, td { border: 1px solid #d6dbe3; padding: 3px 7px; text-align: left; vertical-align: top; }
th { background: #f3f5f8; font-weight: 600; }
td.n { text-align: center; }
code, pre { font: .9em ui-monospace, SFMono-Regular, Menlo, monospace; }
a { color: #1f57b5; text-decoration: none; } a:hover { text-decoration: underline; }
.p { background: #dff3e4; } .aa, .ar { background: #e8f1fb; }
.fa, .fr, .fc, .fo, .nd { background: #fbe0e0; color: #8a1c1c; }
.cr, .to, .ml { background: #f4d4f4; color: #6c1a6c; } .sk { background: #f1f1f1; color: #777; }
.legend span { display: inline-block; margin: 0 .8em .3em 0; padding: 0 .3em; }
table.failing td:last-child { max-width: 70em; }
table.failing a.f { display: inline-block; margin: 1px 1px; padding: 0 .35em; border-radius: 3px;
  background: #fbe0e0; color: #8a1c1c; font-size: .86em; }
table.counts td, table.failing td { padding: 2px 7px; }
#filters { position: sticky; top: 0; z-index: 3; background: #fff; padding: .5em 0;
  border-bottom: 1px solid #d6dbe3; display: flex; flex-wrap: wrap; gap: .6em; align-items: center; }
#filters[hidden] { display: none; }
#filters input[type=search] { width: 12em; }
#filters select { max-width: 13em; }
#shown { color: #5b6574; }
#matrix { --first: 42em; --col: 2.6em; }
#matrix table.m { table-layout: fixed; width: calc(var(--first) + var(--cols) * var(--col)); margin: 0; }
#matrix table.m + table.m, #matrix section table.m { border-top: 0; }
#matrix .m > tbody > tr > * { box-sizing: border-box; width: var(--col); }
#matrix .m > tbody > tr > :first-child { width: var(--first); }
#matrix .head { position: sticky; top: calc(var(--filters, 0px) - 2px); z-index: 2; }
#matrix .head th { vertical-align: bottom; }
#matrix th.impl { padding: 4px 2px; }
#matrix th.impl span { writing-mode: vertical-rl; transform: rotate(180deg); white-space: nowrap; font-weight: 500; }
#matrix section { content-visibility: auto; }
#matrix section > table { margin-top: -1px; }
#matrix tr.vec > td + td { text-align: center; padding: 2px 0; font-weight: 600; }
#matrix td.fl::after { content: "\\2691"; color: #b36b00; font-size: .75em; }
#matrix tr.req > th { background: #eef1f6; font-weight: normal; padding: .5em .7em; }
#matrix tr.req > th .rid { font-weight: 600; }
#matrix tr.req > th p { margin: .25em 0; }
#matrix tr.req > td { background: #eef1f6; text-align: center; color: #8a1c1c; font-weight: 600; padding: 3px 0; }
#matrix td.vec summary { cursor: pointer; }
#matrix td.vec .d { color: #5b6574; }
#matrix tr[id], #matrix section[id] { scroll-margin-top: var(--sticky, 13em); }
#matrix tr.vec:target > td.vec { background: #fff7c2; }
.info { font-size: .92em; margin: .4em 0 .6em; overflow-x: auto; overflow-wrap: anywhere; }
.info code.h { word-break: break-all; }
.info table { margin: .3em 0; } .info th, .info td { padding: 1px 6px; }
.info dt { font-weight: 600; margin-top: .3em; } .info dd { margin: 0 0 0 1.2em; }
pre.hex { background: #f5f7fa; padding: .4em .6em; margin: .2em 0; font-size: 12px; line-height: 1.35; }
pre.meta-json { white-space: pre-wrap; word-break: break-all; max-height: 12em; overflow: auto;
  background: #f5f7fa; padding: .3em .5em; margin: .2em 0; }
"""

SCRIPT = r"""
(function () {
  "use strict";
  var table = document.getElementById("matrix");
  var form = document.getElementById("filters");
  if (!table || !form) { return; }
  var names = JSON.parse(table.getAttribute("data-impls"));
  var verdicts = JSON.parse(table.getAttribute("data-verdicts"));  // cell class -> verdict
  var codeOf = {};
  Object.keys(verdicts).forEach(function (code) { codeOf[verdicts[code]] = code; });
  var failed = JSON.parse(table.getAttribute("data-failed"));
  var isFailed = {};
  failed.forEach(function (code) { isFailed[code] = true; });
  var fields = form.elements;
  var controls = { q: fields.q, impl: fields.impl, req: fields.req, verdict: fields.verdict };
  var shown = document.getElementById("shown");
  var columns = document.getElementById("column-filter");
  var sections = Array.prototype.slice.call(table.getElementsByTagName("section"));
  var rows = [];
  var applied = null;  // the hash of the state on view
  sections.forEach(function (section) {
    Array.prototype.forEach.call(section.getElementsByTagName("tr"), function (row) {
      if (!row.classList.contains("vec")) { return; }
      var codes = [], flags = [];
      for (var i = 1; i < row.cells.length; i++) {
        var classes = row.cells[i].className.split(" ");
        codes.push(classes[0]);
        flags.push(classes[1] === "fl");
      }
      rows.push({ row: row, section: section, id: row.id.toLowerCase(),
                  reqs: (row.getAttribute("data-r") || "").split(" "), codes: codes, flags: flags });
    });
  });

  function read() {
    return { q: controls.q.value.trim(), impl: controls.impl.value, req: controls.req.value,
             verdict: controls.verdict.value };
  }
  function write(state) {
    Object.keys(controls).forEach(function (key) { controls[key].value = state[key] || ""; });
  }
  function hashOf(state) {
    var params = new URLSearchParams();
    ["impl", "req", "verdict", "q"].forEach(function (key) { if (state[key]) { params.set(key, state[key]); } });
    var text = params.toString();
    return text ? "#" + text : "";
  }
  function matches(item, state, column) {
    if (state.q && item.id.indexOf(state.q.toLowerCase()) < 0) { return false; }
    if (state.req && item.reqs.indexOf(state.req) < 0) { return false; }
    if (!state.verdict) { return true; }
    for (var i = 0; i < item.codes.length; i++) {
      if (column >= 0 && i !== column) { continue; }
      var code = item.codes[i];
      if (state.verdict === "failed" ? isFailed[code]
          : state.verdict === "flagged" ? item.flags[i] : code === codeOf[state.verdict]) { return true; }
    }
    return false;
  }
  function apply(state) {
    applied = hashOf(state);
    var column = state.impl ? names.indexOf(state.impl) : -1;
    var count = 0, open = {};
    rows.forEach(function (item) {
      var match = matches(item, state, column);
      item.row.hidden = !match;
      if (match) {
        count++;
        open[item.section.id] = true;
        item.reqs.forEach(function (req) { open[req] = true; });  // a section of "also" vectors only
      }
    });
    sections.forEach(function (section) {
      section.hidden = !(open[section.id] || (state.req && section.id === state.req));
    });
    // Only the chosen implementation's column stays: one rule, not ten thousand cells touched.
    columns.textContent = column >= 0
      ? "#matrix .m > tbody > tr > :nth-child(n+2):not(:nth-child(" + (column + 2) + ")) { display: none; }" : "";
    table.style.setProperty("--cols", column >= 0 ? "1" : String(names.length));
    shown.textContent = count + " of " + rows.length + " vectors shown";
    document.body.setAttribute("data-shown", String(count));
  }
  function onInput() {
    // A blur fires "change" with nothing changed, also as a link is followed: it must not
    // overwrite the hash that link is setting.
    var state = read();
    if (hashOf(state) === applied) { return; }
    apply(state);
    history.replaceState(null, "", hashOf(state) || location.pathname + location.search);
  }
  function reveal(id) {
    var target = document.getElementById(id);
    if (!target) { return; }
    var row = target.closest("tr.vec");
    var hiddenNow = target.hidden || (row && row.hidden) || (target.closest("section") || {}).hidden;
    if (hiddenNow) { write({}); apply({}); }
    if (row) {
      var details = row.querySelector("details");
      if (details) { details.open = true; }
    }
    // A section is laid out only once on screen, and until then has an estimated height (none
    // remembered if a filter hid it): the target's own section is laid out now, or the jump
    // would aim at a row the section's estimated box does not reach.
    var section = target.closest("section") || target;
    section.style.contentVisibility = "visible";
    target.scrollIntoView();
  }
  function route() {
    var hash = location.hash.slice(1);
    if (hash.indexOf("=") >= 0) {
      var params = new URLSearchParams(hash), state = {};
      ["q", "impl", "req", "verdict"].forEach(function (key) { state[key] = params.get(key) || ""; });
      write(state);
      apply(read());  // a value no option has reads back as "": the view shows what the controls say
      document.getElementById("vectors").scrollIntoView();
      return;
    }
    apply(read());
    var id = hash;
    try { id = decodeURIComponent(hash); } catch (error) { /* a malformed escape: look it up as written */ }
    if (id) { reveal(id); }
  }

  Array.prototype.forEach.call(document.querySelectorAll("a[data-filter]"), function (link) {
    link.setAttribute("href", "#" + link.getAttribute("data-filter"));
  });
  form.addEventListener("input", onInput);
  form.addEventListener("change", onInput);
  form.addEventListener("submit", function (event) { event.preventDefault(); });
  form.elements.clear.addEventListener("click", function () { write({}); onInput(); });
  table.addEventListener("mouseover", function (event) {
    var cell = event.target.closest("td");
    if (!cell || cell.title || cell.cellIndex < 1 || !cell.parentNode.classList.contains("vec")) { return; }
    var classes = cell.className.split(" ");
    cell.title = names[cell.cellIndex - 1] + ": " + (verdicts[classes[0]] || "not run") +
      (classes[1] === "fl" ? " (through an unexpected error)" : "") + " on " + cell.parentNode.id;
  });
  // The column headers stick below the filter bar, and an anchor's target scrolls below both.
  function measure() {
    var style = document.documentElement.style;
    style.setProperty("--filters", form.offsetHeight + "px");
    style.setProperty("--sticky", form.offsetHeight + table.firstElementChild.offsetHeight + 6 + "px");
  }
  window.addEventListener("hashchange", route);
  window.addEventListener("resize", measure);
  form.hidden = false;
  shown.textContent = rows.length + " of " + rows.length + " vectors shown";
  measure();
  route();
  document.body.setAttribute("data-ready", "1");
})();
"""
