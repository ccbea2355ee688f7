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
