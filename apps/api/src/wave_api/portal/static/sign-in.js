"use strict";
document.getElementById("sign-in").addEventListener("submit", async (event) => {
  event.preventDefault();
  const message = document.getElementById("message");
  try {
    const session = await api("/session", { method: "POST", body: { token: document.getElementById("token").value.trim() }, noRedirect: true });
    localStorage.setItem(CSRF_KEY, session.csrf_token);
    const next = new URLSearchParams(location.search).get("next") || "/portal/";
    // Only a path on this site: a crafted link cannot send a person elsewhere after signing in.
    location.assign(next.startsWith("/portal/") ? next : "/portal/");
  } catch (error) {
    showError(message, error);
  }
});
