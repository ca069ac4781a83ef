// The portal's only script besides htmx (the Content-Security-Policy allows no inline script):
// a form with data-confirm asks before it is sent (suspending or closing a policy); a button
// with data-print prints the page (the payment receipt).
document.addEventListener("submit", (event) => {
  const question = event.target.dataset ? event.target.dataset.confirm : undefined;
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

document.addEventListener("click", (event) => {
  const printer = event.target.closest ? event.target.closest("[data-print]") : null;
  if (printer) {
    event.preventDefault();
    window.print();
  }
});
