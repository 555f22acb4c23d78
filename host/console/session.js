// Who is signed in: the bearer token and what the sign-in said about its
// user, kept in this tab's session storage (gone when the tab closes).

const KEY = "patchbay.session";

/** The signed-in user ({token, user, name, role, organisation, nhs_number, expires}), or null. */
export function current() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(KEY));
    if (!saved || !saved.token || saved.expires <= Date.now()) return null;
    return saved;
  } catch {
    return null;
  }
}

/** Keeps a sign-in's answer. */
export function start(answer) {
  const session = {
    token: answer.access_token,
    user: answer.user,
    name: answer.name || answer.user,
    role: answer.role,
    organisation: answer.organisation,
    nhs_number: answer.nhs_number || null,
    expires: Date.now() + answer.expires_in * 1000,
  };
  sessionStorage.setItem(KEY, JSON.stringify(session));
  return session;
}

/** Forgets the sign-in. */
export function end() {
  sessionStorage.removeItem(KEY);
}

