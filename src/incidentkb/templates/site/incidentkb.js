// The matrix page's marks are links with a title, the plots' dots have an SVG title: a title shows on hover, and a
// touch screen has no hover. A tap (or a click) on one opens what the run saw in a sheet at the foot of the window
// (a mark: with a link to the incident's grid); a tap elsewhere closes it. The incident pages' marks need none of this: they are <details>.
document.addEventListener("click", function (event) {
  var target = event.target;
  if (!target || !target.closest) return;
  var mark = target.closest(".ikb-overview a.ikb-mark");
  // A plot's dot or glyph says what it is in an SVG <title>, a hover tooltip: a tap shows it too.
  var dot = mark ? null : target.closest("svg.ikb-plot circle, svg.ikb-plot text");
  var title = dot && dot.querySelector("title");
  var sheet = document.getElementById("ikb-tap-pop");
  if (!mark && !title) {
    if (sheet && !target.closest("#ikb-tap-pop")) sheet.hidden = true;
    return;
  }
  event.preventDefault();
  if (!sheet) {
    sheet = document.createElement("div");
    sheet.id = "ikb-tap-pop";
    sheet.className = "ikb-pop";
    sheet.setAttribute("role", "dialog");
    (document.querySelector(".md-content .md-typeset") || document.body).appendChild(sheet);
  }
  var text = document.createElement("pre");
  text.textContent = mark ? (mark.getAttribute("aria-label") || "") : title.textContent;
  var parts = [text];
  if (mark) {
    var link = document.createElement("a");
    link.href = mark.getAttribute("href");
    link.textContent = "Open the incident's grid";
    parts.push(link);
  }
  sheet.replaceChildren.apply(sheet, parts);
  sheet.hidden = false;
});

// A long page folds its long sections (incidentkb.site.folding); a link or a search result that points into one
// opens it, so the reader lands on the text, not on a closed box.
function ikbOpenTarget() {
  var id = decodeURIComponent(location.hash.slice(1));
  var target = id && document.getElementById(id);
  if (!target) return;
  var fold = target.closest("details.ikb-fold");
  if (!fold && target.tagName === "H2" && target.nextElementSibling && target.nextElementSibling.matches("details.ikb-fold")) {
    fold = target.nextElementSibling;
  }
  if (fold) fold.open = true;
  var outer = target.closest("details.ikb-fold");
  if (outer && outer !== fold) outer.open = true;
}
window.addEventListener("hashchange", ikbOpenTarget);
document.addEventListener("DOMContentLoaded", ikbOpenTarget);
