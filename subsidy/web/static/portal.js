// The portal's only script besides htmx (the Content-Security-Policy allows no inline script):
// a form with data-confirm asks before it is sent (suspending or closing a policy).
document.addEventListener("submit", (event) => {
  const question = event.target.dataset ? event.target.dataset.confirm : undefined;
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
