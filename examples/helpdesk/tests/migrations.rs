//! The migrations embedded in the binary are the files in `migrations/`,
//! so `helpdesk migrate` and `tenantry migrate --migrations migrations`
//! apply the same thing.

use std::path::Path;

use tenantry_db::AppMigrations;

#[test]
fn the_embedded_migrations_are_the_directorys() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let from_dir = AppMigrations::from_dir(&dir).unwrap();
    let embedded = AppMigrations::embedded(helpdesk::MIGRATIONS).unwrap();
    assert_eq!(
        from_dir, embedded,
        "a migration file is not in helpdesk::MIGRATIONS, or differs from it"
    );
}
