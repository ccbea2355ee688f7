// Starts ReDoc from data on the page (templates/ninja/redoc.html): no inline script, so the page
// runs under the same Content-Security-Policy as the console.
(function () {
  var element = document.getElementById("redoc-ui");
  var settings = JSON.parse(document.getElementById("redoc-settings").textContent || "{}");
  window.Redoc.init(element.dataset.specUrl, settings, element);
})();
