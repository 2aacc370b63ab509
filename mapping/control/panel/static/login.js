"use strict";
// Log in with the access token; the server sets the session cookie.
document.getElementById("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = document.getElementById("login-error");
  error.textContent = "";
  try {
    const response = await fetch("/api/login", {
      method: "POST",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify({token: document.getElementById("token").value}),
      credentials: "same-origin",
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      error.textContent = body.message || `refused (${response.status})`;
      return;
    }
    const next = new URLSearchParams(location.search).get("next") || "/operator";
    location.assign(/^\/(operator|technician|show)$/.test(next) ? next : "/operator");
  } catch (e) {
    error.textContent = "the show does not answer";
  }
});
