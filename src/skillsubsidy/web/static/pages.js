// The pages' few behaviours, here rather than inline: the Content-Security-Policy runs
// scripts from /static only.
"use strict";
document.addEventListener("click", (event) => {
  // 返回 on the error page: back in the history when there is one (else the link's href)
  const link = event.target instanceof Element ? event.target.closest("a[data-back]") : null;
  if (link && window.history.length > 1) {
    event.preventDefault();
    window.history.back();
  }
});
