//! Password hashing with argon2id (the crate's defaults: 19 MiB, 2 passes, OWASP's minimum).

use std::sync::{Condvar, Mutex, OnceLock};

use argon2::Argon2;
use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};

use crate::error::AppError;

/// Each argon2 run holds 19 MiB: at most one per core at a time, so a burst of logins
/// queues briefly instead of growing memory without bound.
struct Permits {
    free: Mutex<usize>,
    freed: Condvar,
}

static PERMITS: OnceLock<Permits> = OnceLock::new();

struct Permit(&'static Permits);

impl Permit {
    fn acquire() -> Permit {
        let permits = PERMITS.get_or_init(|| Permits {
            free: Mutex::new(std::thread::available_parallelism().map_or(2, |n| n.get())),
            freed: Condvar::new(),
        });
        let mut free = permits.free.lock().unwrap_or_else(|p| p.into_inner());
        while *free == 0 {
            free = permits.freed.wait(free).unwrap_or_else(|p| p.into_inner());
        }
        *free -= 1;
        Permit(permits)
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        *self.0.free.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        self.0.freed.notify_one();
    }
}

pub fn hash_password(password: &str) -> Result<String, AppError> {
    let _permit = Permit::acquire();
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(format!("password hashing failed: {e}")))
}

/// False for a wrong password and for a stored hash that is not a valid PHC string
/// (accounts created without a usable password, such as demo authors).
pub fn verify_password(password: &str, stored: &str) -> bool {
    let hash = PasswordHash::new(stored);
    let _permit = hash.is_ok().then(Permit::acquire);
    match hash {
        Ok(hash) => Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok(),
        Err(_) => false,
    }
}

/// Does the work of one verification against a fixed hash, so that a login for an
/// unknown account takes as long as one for a known account.
pub fn burn_equivalent_time(password: &str) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash_password("not a real password").unwrap_or_default());
    let _ = verify_password(password, dummy);
}
