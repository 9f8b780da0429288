// The matrix page's marks are links with a title: a title shows on hover, and a touch screen has no hover. A tap
// (or a click) on a mark opens what the run saw in a sheet at the foot of the window, with a link to the incident's
// grid; a tap elsewhere closes it. The incident pages' marks need none of this: they are <details>.
document.addEventListener("click", function (event) {
  var target = event.target;
  var mark = target && target.closest ? target.closest(".ikb-overview a.ikb-mark") : null;
  var sheet = document.getElementById("ikb-tap-pop");
  if (!mark) {
    if (sheet && !(target.closest && target.closest("#ikb-tap-pop"))) sheet.hidden = true;
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
  text.textContent = mark.getAttribute("aria-label") || "";
  var link = document.createElement("a");
  link.href = mark.getAttribute("href");
  link.textContent = "Open the incident's grid";
  sheet.replaceChildren(text, link);
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
