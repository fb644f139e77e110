-- "Is there an admin yet?" is asked on the home page.
CREATE INDEX IF NOT EXISTS users_role ON users(role);
