// The console application.
document.getElementById("app").textContent = "twirl console";
