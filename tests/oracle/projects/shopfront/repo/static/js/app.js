document.addEventListener("DOMContentLoaded", () => console.log("shop ready"));
