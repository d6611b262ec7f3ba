<?php

/**
 * The sandbox site's front controller: a small stand-in for a Drupal site.
 *
 *   /              the site name (config `system.site`), the number of user accounts
 *                  (users_field_data, uid > 0) and the published nodes
 *   /health        200 "OK" when the database answers, 500 when it does not
 *   /node/N        a node's title and body
 *   /user/login    the login form; a POST checks name and password (password_verify) and
 *                  starts a session (a `sessions` row); a wrong one answers 403
 *   anything else  404, logged to `watchdog` as Drupal's dblog does
 *
 * While files/.maintenance exists, every page answers 503 "Site under maintenance".
 */

declare(strict_types=1);

require __DIR__ . '/lib/site.php';

function respond_text(int $status, string $text, array $headers = []): never
{
    http_response_code($status);
    header('Content-Type: text/plain; charset=utf-8');
    header('Cache-Control: no-store');
    foreach ($headers as $header) {
        header($header);
    }
    echo $text;
    exit;
}

function respond_page(int $status, string $site, string $title, string $body): never
{
    http_response_code($status);
    header('Content-Type: text/html; charset=utf-8');
    header('Cache-Control: no-store');
    header('X-Generator: Drupal 10 (https://www.drupal.org)');
    $environment = site_env('SITE_ENV');
    $footer = $environment === '' ? '' : '<footer>Environment: ' . site_e($environment) . '</footer>';
    $heading = $title === $site ? '' : '<h2>' . site_e($title) . '</h2>';
    echo '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>'
        . site_e($title === $site ? $site : "$title | $site") . '</title></head><body>'
        . '<header><h1 class="site-name"><a href="/">' . site_e($site) . '</a></h1></header>'
        . '<main>' . $heading . $body . '</main>' . $footer . '</body></html>' . "\n";
    exit;
}

$path = rawurldecode((string) (parse_url($_SERVER['REQUEST_URI'] ?? '/', PHP_URL_PATH) ?? '/'));
$path = rtrim($path, '/') ?: '/';
$method = $_SERVER['REQUEST_METHOD'] ?? 'GET';

if (site_in_maintenance()) {
    respond_text(503, "Site under maintenance\n", ['Retry-After: 60']);
}

try {
    $db = site_db();

    if ($path === '/health') {
        $db->query('SELECT 1')->fetchColumn();
        respond_text(200, "OK\n");
    }

    $site = site_name($db);

    if ($path === '/' || $path === '/index.php' || $path === '/node') {
        $nodes = $db->query(
            'SELECT nid, title FROM node_field_data WHERE status = 1 AND default_langcode = 1'
            . ' ORDER BY sticky DESC, created DESC, nid DESC LIMIT 10'
        )->fetchAll();
        $items = '';
        foreach ($nodes as $node) {
            $items .= '<li><a href="/node/' . (int) $node['nid'] . '">' . site_e($node['title'])
                . '</a></li>';
        }
        $slogan = (string) ((site_config($db, 'system.site') ?? [])['slogan'] ?? '');
        respond_page(
            200,
            $site,
            $site,
            ($slogan === '' ? '' : '<p class="site-slogan">' . site_e($slogan) . '</p>')
            . '<p class="user-count">Users: ' . site_user_count($db) . '</p>'
            . '<ul class="nodes">' . $items . '</ul>'
        );
    }

    if (preg_match('#^/node/(\d+)$#', $path, $match)) {
        $query = $db->prepare(
            'SELECT n.title, n.type, b.body_value FROM node_field_data n'
            . ' LEFT JOIN node__body b ON b.entity_id = n.nid AND b.langcode = n.langcode'
            . ' WHERE n.nid = ? AND n.status = 1 AND n.default_langcode = 1'
        );
        $query->execute([(int) $match[1]]);
        $node = $query->fetch();
        if ($node !== false) {
            respond_page(
                200,
                $site,
                (string) $node['title'],
                '<article class="node node--type-' . site_e((string) $node['type']) . '">'
                . (string) ($node['body_value'] ?? '') . '</article>'
            );
        }
    } elseif ($path === '/user/login' && $method === 'POST') {
        $name = (string) ($_POST['name'] ?? '');
        $query = $db->prepare(
            'SELECT uid, name, pass FROM users_field_data WHERE name = ? AND status = 1 AND uid > 0'
        );
        $query->execute([$name]);
        $account = $query->fetch();
        if ($account === false || !password_verify((string) ($_POST['pass'] ?? ''), (string) $account['pass'])) {
            respond_page(403, $site, 'Log in', '<p class="error">Unrecognized username or password.</p>');
        }
        $sid = bin2hex(random_bytes(24));
        $now = time();
        $db->prepare('INSERT INTO sessions (uid, sid, hostname, timestamp, session) VALUES (?, ?, ?, ?, ?)')
            ->execute([
                (int) $account['uid'],
                rtrim(strtr(base64_encode(hash('sha256', $sid, true)), '+/', '-_'), '='),
                $_SERVER['REMOTE_ADDR'] ?? '127.0.0.1',
                $now,
                '_sf2_attributes|' . serialize(['uid' => (string) $account['uid']]),
            ]);
        $db->prepare('UPDATE users_field_data SET login = ?, access = ? WHERE uid = ?')
            ->execute([$now, $now, (int) $account['uid']]);
        header('Set-Cookie: SESS' . substr(hash('sha256', $_SERVER['HTTP_HOST'] ?? 'localhost'), 0, 32)
            . '=' . $sid . '; Path=/; HttpOnly; SameSite=Lax');
        respond_page(200, $site, 'Welcome', '<p class="status">Logged in as ' . site_e((string) $account['name']) . '.</p>');
    } elseif ($path === '/user/login') {
        respond_page(
            200,
            $site,
            'Log in',
            '<form method="post" action="/user/login" id="user-login-form">'
            . '<label>Username <input name="name" autocomplete="username"></label>'
            . '<label>Password <input name="pass" type="password" autocomplete="current-password"></label>'
            . '<button type="submit">Log in</button></form>'
        );
    }

    site_log($db, 'page not found', '@uri', ['@uri' => $path], 4);
    respond_page(404, $site, 'Page not found', '<p>The requested page could not be found.</p>');
} catch (PDOException $error) {
    error_log('sandbox site: database error: ' . $error->getMessage());
    respond_text(500, 'The website encountered an unexpected error: the database is unavailable ('
        . $error->getMessage() . ")\n");
}
