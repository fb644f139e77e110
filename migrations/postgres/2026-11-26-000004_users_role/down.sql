DROP INDEX users_role;
