-- Sign-in attempts replace failed sign-ins: an attempt is stored (reserved) in the same transaction that counts the
-- recent ones, before its password is checked, so concurrent guesses cannot all pass the count; a successful
-- sign-in deletes the attempts of its account from its address. Times are UTC. See src/domain/throttle.rs.
DROP TABLE login_failures;
CREATE TABLE login_attempts (
    id TEXT PRIMARY KEY NOT NULL,
    -- the user name as typed, lower-cased (unknown names too)
    account TEXT NOT NULL,
    -- the client address (IPv4, or an IPv6 /64)
    address TEXT NOT NULL,
    attempted_at TIMESTAMP NOT NULL
);
CREATE INDEX login_attempts_account ON login_attempts (account, attempted_at);
CREATE INDEX login_attempts_address ON login_attempts (address, attempted_at);
CREATE INDEX login_attempts_at ON login_attempts (attempted_at);

-- Addresses an account signed in from successfully, and when last: they are exempt from the per-account limit, so
-- strangers guessing elsewhere cannot keep the owner out.
CREATE TABLE login_known_addresses (
    account TEXT NOT NULL,
    address TEXT NOT NULL,
    last_success_at TIMESTAMP NOT NULL,
    PRIMARY KEY (account, address)
);
