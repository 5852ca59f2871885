// Review by keyboard: j / k move between pairs, m / n / s decide the pair in focus
// (Match, Not a match, Skip). Keys typed into a field are left alone.
document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target;
  if (target.closest && target.closest("input, textarea, select")) return;
  const pairs = Array.from(document.querySelectorAll("article.pair"));
  if (!pairs.length) return;
  const current = document.activeElement && document.activeElement.closest
    ? document.activeElement.closest("article.pair") : null;
  const index = current ? pairs.indexOf(current) : -1;
  if (event.key === "j" || event.key === "k") {
    const next = event.key === "j" ? Math.min(index + 1, pairs.length - 1) : Math.max(index - 1, 0);
    pairs[next].focus();
    pairs[next].scrollIntoView({ block: "nearest" });
    event.preventDefault();
    return;
  }
  const pair = current || pairs[0];
  const button = pair.querySelector(`button[data-key="${event.key}"]`);
  if (button) {
    button.click();
    event.preventDefault();
  }
});
