// The platform's only page script besides the map. Pages never carry inline code (the Content-Security-Policy
// refuses it); they mark elements with data- attributes handled here. Everything works without it too.
document.addEventListener("change", function (event) {
  var el = event.target;
  if (el.matches && el.matches("[data-autosubmit]") && el.form) { el.form.submit(); }
});
document.addEventListener("click", function (event) {
  var el = event.target.closest && event.target.closest("[data-print], [data-back]");
  if (!el) { return; }
  event.preventDefault();
  if (el.hasAttribute("data-print")) { window.print(); } else { window.history.back(); }
});
