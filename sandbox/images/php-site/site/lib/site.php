<?php

/**
 * The sandbox site's library, shared by index.php and the `drush` stand-in: settings from the
 * environment, the database connection, Drupal's configuration and a few queries.
 *
 * Settings: DB_HOST, DB_PORT (3306), DB_NAME, DB_USER, DB_PASSWORD; SITE_ENV names the
 * environment (prod, test, dev, …) in the page footer.
 */

declare(strict_types=1);

define('SITE_ROOT', dirname(__DIR__));
define('SITE_FILES', SITE_ROOT . '/files');
define('SITE_MAINTENANCE_FLAG', SITE_FILES . '/.maintenance');

function site_env(string $name, string $default = ''): string
{
    $value = getenv($name);
    if ($value === false) {
        $value = $_SERVER[$name] ?? $default;
    }
    return (string) $value;
}

function site_in_maintenance(): bool
{
    clearstatcache(true, SITE_MAINTENANCE_FLAG);
    return file_exists(SITE_MAINTENANCE_FLAG);
}

function site_set_maintenance(bool $on): void
{
    if ($on) {
        if (!is_dir(SITE_FILES)) {
            mkdir(SITE_FILES, 0775, true);
        }
        touch(SITE_MAINTENANCE_FLAG);
    } elseif (file_exists(SITE_MAINTENANCE_FLAG)) {
        unlink(SITE_MAINTENANCE_FLAG);
    }
}

/** The database connection settings, as Drupal's settings.php would hold them. */
function site_db_settings(): array
{
    return [
        'host' => site_env('DB_HOST', 'db'),
        'port' => (int) (site_env('DB_PORT', '3306') ?: '3306'),
        'database' => site_env('DB_NAME', 'drupal'),
        'username' => site_env('DB_USER', 'drupal'),
        'password' => site_env('DB_PASSWORD'),
    ];
}

function site_db(): PDO
{
    static $db = null;
    if ($db === null) {
        $s = site_db_settings();
        $dsn = sprintf(
            'mysql:host=%s;port=%d;dbname=%s;charset=utf8mb4',
            $s['host'],
            $s['port'],
            $s['database'],
        );
        $db = new PDO($dsn, $s['username'], $s['password'], [
            PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION,
            PDO::ATTR_DEFAULT_FETCH_MODE => PDO::FETCH_ASSOC,
            PDO::ATTR_TIMEOUT => 5,
        ]);
    }
    return $db;
}

/** A configuration object from Drupal's `config` table (PHP-serialised), or null. */
function site_config(PDO $db, string $name): ?array
{
    $query = $db->prepare("SELECT data FROM config WHERE collection = '' AND name = ?");
    $query->execute([$name]);
    $data = $query->fetchColumn();
    if ($data === false || $data === null) {
        return null;
    }
    $value = @unserialize((string) $data, ['allowed_classes' => false]);
    return is_array($value) ? $value : null;
}

function site_name(PDO $db): string
{
    $site = site_config($db, 'system.site') ?? [];
    return (string) ($site['name'] ?? 'Drupal');
}

/** The number of user accounts (uid 0, the anonymous user, is not an account). */
function site_user_count(PDO $db): int
{
    return (int) $db->query('SELECT COUNT(*) FROM users_field_data WHERE uid > 0')->fetchColumn();
}

/** Drupal's cache tables (cache_default, cache_render, …). */
function site_cache_tables(PDO $db): array
{
    return $db->query("SHOW TABLES LIKE 'cache\\_%'")->fetchAll(PDO::FETCH_COLUMN);
}

function site_clear_caches(PDO $db): int
{
    $tables = site_cache_tables($db);
    foreach ($tables as $table) {
        $db->exec('TRUNCATE TABLE `' . str_replace('`', '``', $table) . '`');
    }
    return count($tables);
}

/** A dblog entry, as Drupal's watchdog() writes it. */
function site_log(PDO $db, string $type, string $message, array $variables, int $severity): void
{
    $query = $db->prepare(
        'INSERT INTO watchdog (uid, type, message, variables, severity, link, location, referer,'
        . ' hostname, timestamp) VALUES (0, ?, ?, ?, ?, \'\', ?, ?, ?, ?)'
    );
    $scheme = (($_SERVER['HTTPS'] ?? '') === 'on') ? 'https' : 'http';
    $query->execute([
        $type,
        $message,
        serialize($variables),
        $severity,
        $scheme . '://' . ($_SERVER['HTTP_HOST'] ?? 'localhost') . ($_SERVER['REQUEST_URI'] ?? '/'),
        $_SERVER['HTTP_REFERER'] ?? '',
        $_SERVER['REMOTE_ADDR'] ?? '127.0.0.1',
        time(),
    ]);
}

function site_e(string $text): string
{
    return htmlspecialchars($text, ENT_QUOTES | ENT_SUBSTITUTE, 'UTF-8');
}
