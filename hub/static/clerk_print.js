// The printable report's one button (no inline script: the hub's CSP forbids it).
document.getElementById("print")?.addEventListener("click", () => window.print());
