//! Query permits (Secret's SNIP-24, Oasis's signed-in queries): an owner lets one grantee query
//! a contract on its behalf, for the scopes it names, until an expiry or a revocation.
//!
//! The permit is signed off chain and travels inside the grantee's (encrypted, signed) query;
//! a worker checks it here against the chain, the contract, the grantee, the time and the
//! revocations the contract's state holds. A revocation is a command whose plaintext is
//! [`Permit::revocation_message`]: the executor records it in the contract's state, under the
//! VM's reserved prefix (no contract can write or forge it), and the contract never sees it.

use phalanx_crypto::verify_signature;
use phalanx_primitives::query::{
    Permit, SignedPermit, MAX_PERMIT_LIFETIME_MS, MAX_PERMIT_SCOPES, MAX_PERMIT_SCOPE_LEN,
    REVOKE_PERMIT_PREFIX,
};
use phalanx_primitives::{AccountId, Hash};

/// Gas a revocation command is charged.
pub const REVOKE_PERMIT_GAS: u64 = 20_000;

/// Where a contract's state records that `owner` revoked permit `id`.
const REVOKED_PREFIX: &[u8] = b"\xffphalanx/revoked-permit/";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PermitError {
    #[error("the permit is for another chain")]
    OtherChain,
    #[error("the permit is for contract {0}, not this one")]
    OtherContract(AccountId),
    #[error("the permit names {grantee} as its grantee, not the query's signer {origin}")]
    NotGrantee {
        grantee: AccountId,
        origin: AccountId,
    },
    #[error("the permit is not signed by its owner {0}")]
    BadSignature(AccountId),
    #[error("the permit expired at {expiry_ms} (now {now_ms}, Unix ms)")]
    Expired { expiry_ms: u64, now_ms: u64 },
    #[error(
        "the permit runs past the longest a permit may ({MAX_PERMIT_LIFETIME_MS} ms from now)"
    )]
    TooLong,
    #[error(
        "a permit names at most {MAX_PERMIT_SCOPES} scopes of at most {MAX_PERMIT_SCOPE_LEN} bytes"
    )]
    Scopes,
    #[error("the owner revoked this permit")]
    Revoked,
    #[error("reading the contract's revocations failed: {0}")]
    Storage(String),
}

/// The key under which a contract's state records the revocation of `owner`'s permit `id`.
pub fn revoked_key(owner: &AccountId, id: &[u8; 16]) -> Vec<u8> {
    [REVOKED_PREFIX, owner.as_bytes().as_slice(), id.as_slice()].concat()
}

/// The permit id a command's plaintext revokes, if it is a revocation.
pub fn revocation_of(plaintext: &[u8]) -> Option<[u8; 16]> {
    plaintext
        .strip_prefix(REVOKE_PERMIT_PREFIX)
        .and_then(|id| id.try_into().ok())
}

/// Checks `signed` for a query by `origin` to `contract` at `now_ms`; `revoked(key)` reads the
/// contract's committed state. Returns the permit, whose owner the query then runs as.
pub fn check_permit<'p, E: std::fmt::Display>(
    chain_id: Hash,
    contract: &AccountId,
    origin: &AccountId,
    signed: &'p SignedPermit,
    now_ms: u64,
    revoked: impl FnOnce(&[u8]) -> Result<bool, E>,
) -> Result<&'p Permit, PermitError> {
    let permit = &signed.permit;
    if permit.chain_id != chain_id {
        return Err(PermitError::OtherChain);
    }
    if permit.contract != *contract {
        return Err(PermitError::OtherContract(permit.contract));
    }
    if permit.grantee != *origin {
        return Err(PermitError::NotGrantee {
            grantee: permit.grantee,
            origin: *origin,
        });
    }
    if permit.scopes.len() > MAX_PERMIT_SCOPES
        || permit.scopes.iter().any(|s| s.len() > MAX_PERMIT_SCOPE_LEN)
    {
        return Err(PermitError::Scopes);
    }
    verify_signature(&permit.owner, &permit.signing_message(), &signed.signature)
        .map_err(|_| PermitError::BadSignature(permit.owner))?;
    if permit.expiry_ms <= now_ms {
        return Err(PermitError::Expired {
            expiry_ms: permit.expiry_ms,
            now_ms,
        });
    }
    if permit.expiry_ms - now_ms > MAX_PERMIT_LIFETIME_MS {
        return Err(PermitError::TooLong);
    }
    if revoked(&revoked_key(&permit.owner, &permit.id))
        .map_err(|e| PermitError::Storage(e.to_string()))?
    {
        return Err(PermitError::Revoked);
    }
    Ok(permit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use phalanx_crypto::Keypair;

    fn permit(owner: &Keypair, grantee: AccountId, expiry_ms: u64) -> SignedPermit {
        let permit = Permit {
            chain_id: Hash([1; 32]),
            contract: AccountId::from_bytes([2; 32]),
            owner: owner.account_id(),
            grantee,
            scopes: vec!["balance".into()],
            expiry_ms,
            id: [3; 16],
        };
        SignedPermit {
            signature: owner.sign(&permit.signing_message()),
            permit,
        }
    }

    #[test]
    fn a_permit_holds_only_for_its_chain_contract_grantee_time_and_signature() {
        let (owner, grantee) = (Keypair::dev("alice"), Keypair::dev("bob").account_id());
        let contract = AccountId::from_bytes([2; 32]);
        let never = |_: &[u8]| Ok::<_, String>(false);
        let good = permit(&owner, grantee, 10_000);
        let check = |p: &SignedPermit, chain: u8, contract: &AccountId, origin: &AccountId, now| {
            check_permit(Hash([chain; 32]), contract, origin, p, now, never).map(|_| ())
        };
        assert_eq!(check(&good, 1, &contract, &grantee, 5_000), Ok(()));
        assert_eq!(
            check(&good, 9, &contract, &grantee, 5_000),
            Err(PermitError::OtherChain)
        );
        let other = AccountId::from_bytes([8; 32]);
        assert_eq!(
            check(&good, 1, &other, &grantee, 5_000),
            Err(PermitError::OtherContract(contract))
        );
        assert!(matches!(
            check(&good, 1, &contract, &other, 5_000),
            Err(PermitError::NotGrantee { .. })
        ));
        assert!(matches!(
            check(&good, 1, &contract, &grantee, 10_000),
            Err(PermitError::Expired { .. })
        ));
        // Forged: another key signed it, or a field changed after signing.
        let mut forged = permit(&Keypair::dev("mallory"), grantee, 10_000);
        forged.permit.owner = owner.account_id();
        assert!(matches!(
            check(&forged, 1, &contract, &grantee, 5_000),
            Err(PermitError::BadSignature(_))
        ));
        let mut widened = good.clone();
        widened.permit.scopes.push("everything".into());
        assert!(matches!(
            check(&widened, 1, &contract, &grantee, 5_000),
            Err(PermitError::BadSignature(_))
        ));
        let forever = permit(&owner, grantee, u64::MAX);
        assert_eq!(
            check(&forever, 1, &contract, &grantee, 5_000),
            Err(PermitError::TooLong)
        );
        let revoked = check_permit(Hash([1; 32]), &contract, &grantee, &good, 5_000, |key| {
            Ok::<_, String>(key == revoked_key(&owner.account_id(), &[3; 16]))
        });
        assert_eq!(revoked.map(|_| ()), Err(PermitError::Revoked));
    }

    #[test]
    fn only_the_exact_revocation_message_revokes() {
        let id = [7; 16];
        assert_eq!(revocation_of(&Permit::revocation_message(&id)), Some(id));
        assert_eq!(revocation_of(b"\xffphalanx/revoke-permit"), None);
        assert_eq!(
            revocation_of(&[Permit::revocation_message(&id), vec![0]].concat()),
            None
        );
        assert_eq!(revocation_of(b"transfer"), None);
    }
}
