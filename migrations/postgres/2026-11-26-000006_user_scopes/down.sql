DROP TABLE user_scopes;
