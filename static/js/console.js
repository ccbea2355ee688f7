// The console's few behaviours, from data attributes: no inline handlers, so the page can run
// under a Content-Security-Policy that allows only this site's own scripts, and no user text is
// ever evaluated as code (a data attribute is read as text).
document.addEventListener("submit", (event) => {
  const question = event.submitter?.dataset.confirm || event.target.dataset.confirm;
  if (question && !window.confirm(question)) {
    event.preventDefault();
    event.stopImmediatePropagation();
  }
}, true);

document.addEventListener("change", (event) => {
  if (event.target.matches("[data-autosubmit]")) {
    event.target.form.requestSubmit();
  }
});

// One pattern for HTMX errors: htmx does not swap a 4xx/5xx answer, so without this a failed
// request showed nothing and left the old content in place. The answer's own message (a problem
// document's detail, or the alert of an HTML page) is shown in the form that made the request, or
// in a toast when there is no form; always as text, never as markup.
function answerMessage(xhr) {
  const type = xhr.getResponseHeader("Content-Type") || "";
  try {
    if (type.includes("json")) {
      const problem = JSON.parse(xhr.responseText);
      if (problem.detail || problem.title) return problem.detail || problem.title;
    } else if (type.includes("html")) {
      const page = new DOMParser().parseFromString(xhr.responseText, "text/html");
      const alert = page.querySelector("main [role=alert]") || page.querySelector("[role=alert]");
      if (alert && alert.textContent.trim()) return alert.textContent.trim().replace(/\s+/g, " ");
    }
  } catch (_) { /* an answer we cannot read: fall back to its status */ }
  return `The server answered ${xhr.status}; nothing was changed. Reload the page and try again.`;
}

function showRequestError(elt, text) {
  const form = elt && elt.closest ? elt.closest("form") : null;
  let area = form ? form.querySelector("[data-request-error]") : document.getElementById("request-error-toast");
  if (!area) {
    area = document.createElement("div");
    area.setAttribute("role", "alert");
    if (form) {
      area.className = "error";
      area.dataset.requestError = "";
      form.prepend(area);
    } else {
      area.className = "error toast";
      area.id = "request-error-toast";
      document.body.append(area);
    }
  }
  area.textContent = text;
  area.hidden = false;
}

document.addEventListener("htmx:responseError", (event) => showRequestError(event.detail.elt, answerMessage(event.detail.xhr)));
document.addEventListener("htmx:sendError", (event) =>
  showRequestError(event.detail.elt, "The server could not be reached; check the connection and try again."));
document.addEventListener("htmx:afterRequest", (event) => {
  if (!event.detail.successful) return;
  const form = event.detail.elt && event.detail.elt.closest ? event.detail.elt.closest("form") : null;
  const area = form ? form.querySelector("[data-request-error]") : document.getElementById("request-error-toast");
  if (area) area.hidden = true;
});
