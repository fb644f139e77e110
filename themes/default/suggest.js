// Townhall: while a customer types a question's title, show answers that already exist.
// The page works without this script (the server shows the same suggestions before posting).
(function () {
  "use strict";
  var title = document.getElementById("f-title");
  var box = document.getElementById("suggestions");
  var category = document.getElementById("f-category");
  var confirmed = document.getElementById("f-confirmed");
  if (!title || !box) return;
  var flow = box.getAttribute("data-flow") || "";
  var timer = null;
  var last = "";

  function render(data) {
    var hits = (data && data.hits) || [];
    box.textContent = "";
    if (!hits.length) { box.hidden = true; return; }
    var h = document.createElement("h2");
    h.textContent = (data && data.heading) || "These answers may help";
    box.appendChild(h);
    var list = document.createElement("ul");
    hits.forEach(function (hit) {
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = hit.kind === "kb" ? hit.url
        : "/search/open?flow=" + encodeURIComponent(flow) + "&topic=" + encodeURIComponent(hit.topic_id);
      a.textContent = hit.title;
      li.appendChild(a);
      if (hit.solved) {
        var badge = document.createElement("span");
        badge.className = "badge solved";
        badge.textContent = "✓ solved";
        li.appendChild(document.createTextNode(" "));
        li.appendChild(badge);
      }
      list.appendChild(li);
    });
    box.appendChild(list);
    box.hidden = false;
    // They have seen the suggestions: no need for the extra check step on submit.
    if (confirmed) confirmed.value = "1";
  }

  function run() {
    var q = title.value.trim();
    var c = category ? category.value : "";
    if (q.length < 8 || q + "\n" + c === last) return;
    last = q + "\n" + c;
    fetch("/api/suggest?flow=" + encodeURIComponent(flow) + "&q=" + encodeURIComponent(q) +
      "&category=" + encodeURIComponent(c), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(render)
      .catch(function () {});
  }

  if (category) category.addEventListener("change", run);
  title.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(run, 300);
  });
  run();
})();
