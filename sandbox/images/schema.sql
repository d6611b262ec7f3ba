-- The sandbox sites' database: a subset of Drupal 10's tables, as a production site has them,
-- with a few rows of production data (real-looking addresses at acme.example, sessions, cache
-- and log entries) for the clone, sanitize and deploy operations to work on.
--
-- Load it into a site's database, for example in a triage/mariadb container:
--     mariadb drupal < schema.sql
-- It drops and recreates its tables, so loading it again resets the data.
--
-- Accounts (users_field_data, uid > 0; uid 0 is Drupal's anonymous user), with the passwords
-- whose hashes are stored (bcrypt, as Drupal 10 keeps them):
--     admin        Acme-Admin-2019!     webmaster@acme.example
--     jane.miller  Editor#Jane7         jane.miller@acme.example
--     tom.baker    author-tom-42        tom.baker@acme.example
--     sarah.cole   Client!Sarah2024     sarah.cole@acme.example
--     peter.old    old-secret           peter.old@acme.example   (blocked)
-- Values of `config.data`, `watchdog.variables` and `cache_*.data` are PHP-serialised, as in
-- Drupal.

SET NAMES utf8mb4;
SET foreign_key_checks = 0;
-- As mysqldump does: uid 0 (the anonymous user) is a value, not a request for the next one.
SET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO';

DROP TABLE IF EXISTS `config`;
CREATE TABLE `config` (
  `collection` varchar(255) CHARACTER SET ascii COLLATE ascii_general_ci NOT NULL DEFAULT '' COMMENT 'Primary Key: Config object collection.',
  `name` varchar(255) CHARACTER SET ascii COLLATE ascii_general_ci NOT NULL DEFAULT '' COMMENT 'Primary Key: Config object name.',
  `data` longblob DEFAULT NULL COMMENT 'A serialized configuration object data.',
  PRIMARY KEY (`collection`,`name`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci COMMENT='The base table for configuration data.';
INSERT INTO `config` (`collection`, `name`, `data`) VALUES
('', 'system.site', 'a:11:{s:4:"uuid";s:36:"6f1c2a8e-3b4d-4e5f-9a0b-1c2d3e4f5a6b";s:4:"name";s:16:"Acme Corporation";s:4:"mail";s:22:"webmaster@acme.example";s:6:"slogan";s:44:"Rockets, anvils and giant magnets since 1949";s:4:"page";a:3:{s:3:"403";s:0:"";s:3:"404";s:0:"";s:5:"front";s:5:"/node";}s:18:"admin_compact_mode";b:0;s:17:"weight_select_max";i:100;s:16:"default_langcode";s:2:"en";s:17:"mail_notification";s:0:"";s:5:"_core";a:1:{s:19:"default_config_hash";s:43:"yXkZJrqv9bGmOyg5MWc0iNeOq3yQZ7Gy8j3hGJ0pG2c";}s:8:"langcode";s:2:"en";}'),
('', 'system.maintenance', 'a:3:{s:7:"message";s:93:"@site is currently under maintenance. We should be back shortly. Thank you for your patience.";s:8:"langcode";s:2:"en";s:5:"_core";a:1:{s:19:"default_config_hash";s:43:"Z5MXifrF77GEAgx0GQ6iWT8wStjFuY8BD9OruofWTJ8";}}'),
('', 'system.mail', 'a:3:{s:9:"interface";a:1:{s:7:"default";s:8:"php_mail";}s:10:"mailer_dsn";a:6:{s:6:"scheme";s:4:"smtp";s:4:"host";s:17:"mail.acme.example";s:4:"port";i:587;s:4:"user";s:19:"mailer@acme.example";s:8:"password";s:0:"";s:5:"query";a:0:{}}s:5:"_core";a:1:{s:19:"default_config_hash";s:43:"rYgt7uhPafP2ngaN_ZUPFuyI4KdE0ZU0ZPhbmRcnzNs";}}');

DROP TABLE IF EXISTS `users`;
CREATE TABLE `users` (
  `uid` int(10) unsigned NOT NULL AUTO_INCREMENT,
  `uuid` varchar(128) CHARACTER SET ascii COLLATE ascii_general_ci NOT NULL,
  `langcode` varchar(12) CHARACTER SET ascii COLLATE ascii_general_ci NOT NULL,
  PRIMARY KEY (`uid`),
  UNIQUE KEY `user_field__uuid__value` (`uuid`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci COMMENT='The base table for user entities.';
INSERT INTO `users` (`uid`, `uuid`, `langcode`) VALUES
(0, 'a0c6e1f2-0000-4000-8000-000000000000', 'en'),
(1, 'a0c6e1f2-0001-4000-8000-000000000001', 'en'),
(2, 'a0c6e1f2-0002-4000-8000-000000000002', 'en'),
(3, 'a0c6e1f2-0003-4000-8000-000000000003', 'en'),
(4, 'a0c6e1f2-0004-4000-8000-000000000004', 'en'),
(5, 'a0c6e1f2-0005-4000-8000-000000000005', 'en');

DROP TABLE IF EXISTS `users_field_data`;
CREATE TABLE `users_field_data` (
  `uid` int(10) unsigned NOT NULL,
  `langcode` varchar(12) CHARACTER SET ascii COLLATE ascii_general_ci NOT NULL,
  `preferred_langcode` varchar(12) CHARACTER SET ascii COLLATE ascii_general_ci DEFAULT NULL,
  `preferred_admin_langcode` varchar(12) CHARACTER SET ascii COLLATE ascii_general_ci DEFAULT NULL,
  `name` varchar(60) NOT NULL,
  `pass` varchar(255) DEFAULT NULL,
  `mail` varchar(254) DEFAULT NULL,
  `timezone` varchar(32) DEFAULT NULL,
  `status` tinyint(4) DEFAULT NULL,
  `created` int(11) NOT NULL,
  `changed` int(11) DEFAULT NULL,
  `access` int(11) NOT NULL,
  `login` int(11) DEFAULT NULL,
  `init` varchar(254) DEFAULT NULL,
  `default_langcode` tinyint(4) NOT NULL,
  PRIMARY KEY (`uid`,`langcode`),
  UNIQUE KEY `user__name` (`name`,`langcode`),
  KEY `user__id__default_langcode__langcode` (`uid`,`default_langcode`,`langcode`),
  KEY `user_field__mail` (`mail`(191)),
  KEY `user_field__created` (`created`),
  KEY `user_field__access` (`access`),
  KEY `user_field__login` (`login`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci COMMENT='The data table for user entities.';
INSERT INTO `users_field_data` (`uid`, `langcode`, `preferred_langcode`, `preferred_admin_langcode`, `name`, `pass`, `mail`, `timezone`, `status`, `created`, `changed`, `access`, `login`, `init`, `default_langcode`) VALUES
(0, 'en', 'en', NULL, '', NULL, NULL, NULL, 0, 1494417600, 1494417600, 0, 0, NULL, 1),
(1, 'en', 'en', NULL, 'admin', '$2y$10$kZk2g1ESBu9Y5fjszbrnk.0StTbN2XI3n5wvgLlgainQxg/Tx/T1.', 'webmaster@acme.example', 'Europe/Berlin', 1, 1494417600, 1795711320, 1795711320, 1795711320, 'webmaster@acme.example', 1),
(2, 'en', 'en', NULL, 'jane.miller', '$2y$10$XKVrK04NGZNrIKbT1C7a..Pkmk3ELv1/X.rs7pZ9DTC58nIDO8AtC', 'jane.miller@acme.example', 'Europe/Berlin', 1, 1551693600, 1795766280, 1795766280, 1795766280, 'jane.miller@acme.example', 1),
(3, 'en', 'en', NULL, 'tom.baker', '$2y$10$gDwi5WpTiILUymz5yyRG6.H9MqPm4ug.yLl8D56zIpSp0khMTKmGK', 'tom.baker@acme.example', 'Europe/London', 1, 1622536200, 1795165200, 1795165200, 1795165200, 'tom.baker@acme.example', 1),
(4, 'en', 'en', NULL, 'sarah.cole', '$2y$10$1ypQ0xVFwrYRCAdx5etr3OgDD.N12jqywv4duvqeBzaZj/TeHCzHy', 'sarah.cole@acme.example', 'America/New_York', 1, 1708420500, 1795711320, 1795711320, 1795711320, 'sarah.cole@acme.example', 1),
(5, 'en', 'en', NULL, 'peter.old', '$2y$10$GKDv7xvIBKVcCoS.MsyqDeE1lYX5pUIetj3uqUdfayNWP1Frdmh9a', 'peter.old@acme.example', 'Europe/Berlin', 0, 1551693600, 1622536200, 1622536200, 1622536200, 'peter.old@acme.example', 1);

DROP TABLE IF EXISTS `sessions`;
CREATE TABLE `sessions` (
  `uid` int(10) unsigned NOT NULL COMMENT 'The users.uid corresponding to a session, or 0 for anonymous user.',
  `sid` varchar(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL COMMENT 'A session ID (hashed). The value is generated by Drupal''s session handlers.',
  `hostname` varchar(128) NOT NULL DEFAULT '' COMMENT 'The IP address that last used this session ID (sid).',
  `timestamp` bigint(20) NOT NULL DEFAULT 0 COMMENT 'The Unix timestamp when this session last requested a page. Old records are purged by PHP automatically.',
  `session` longblob DEFAULT NULL COMMENT 'The serialized contents of the user''s session, an array of name/value pairs that persists across page requests by this session ID. Drupal loads the user''s session from here at the start of each request and saves it at the end.',
  PRIMARY KEY (`sid`),
  KEY `timestamp` (`timestamp`),
  KEY `uid` (`uid`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci COMMENT='Drupal''s session handlers read and write into the sessions table. Each record represents a user session, either anonymous or authenticated.';
INSERT INTO `sessions` (`uid`, `sid`, `hostname`, `timestamp`, `session`) VALUES
(1, 'kq3Hn6mB1v0yQ2xWc8TzR5uL7pE4sD9fG0hJ1kA2bC3', '203.0.113.24', 1795711320, '_sf2_attributes|a:1:{s:3:"uid";s:1:"1";}_sf2_meta|a:4:{s:1:"u";i:1795711320;s:1:"c";i:1795711320;s:1:"l";i:0;s:1:"s";s:20:"kq3Hn6mB1v0yQ2xWc8Tz";}'),
(2, 'Zp8Xw2Lr5Nt7Qv1Ys4Ku6Ho9Jm3Fg0Bd2Ce5Ta8Rb1', '198.51.100.7', 1795766280, '_sf2_attributes|a:1:{s:3:"uid";s:1:"2";}_sf2_meta|a:4:{s:1:"u";i:1795766280;s:1:"c";i:1795766280;s:1:"l";i:0;s:1:"s";s:20:"Zp8Xw2Lr5Nt7Qv1Ys4Ku";}'),
(4, 'Mf4Gh7Jk0Lq3Wr6Ty9Ui2Op5As8Dz1Xc4Vb7Nm0Qa3', '192.0.2.150', 1795711320, '_sf2_attributes|a:1:{s:3:"uid";s:1:"4";}_sf2_meta|a:4:{s:1:"u";i:1795711320;s:1:"c";i:1795711320;s:1:"l";i:0;s:1:"s";s:20:"Mf4Gh7Jk0Lq3Wr6Ty9Ui";}');

DROP TABLE IF EXISTS `cache_default`;
CREATE TABLE `cache_default` (
  `cid` varchar(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT '' COMMENT 'Primary Key: Unique cache ID.',
  `data` longblob DEFAULT NULL COMMENT 'A collection of data to cache.',
  `expire` int(11) NOT NULL DEFAULT 0 COMMENT 'A Unix timestamp indicating when the cache entry should expire, or -1 for never.',
  `created` decimal(14,3) NOT NULL DEFAULT 0.000 COMMENT 'A timestamp with millisecond precision indicating when the cache entry was created.',
  `serialized` smallint(6) NOT NULL DEFAULT 0 COMMENT 'A flag to indicate whether content is serialized (1) or not (0).',
  `tags` longtext DEFAULT NULL COMMENT 'Space-separated list of cache tags for this entry.',
  `checksum` varchar(255) CHARACTER SET ascii COLLATE ascii_general_ci NOT NULL COMMENT 'The tag invalidation checksum when this entry was saved.',
  PRIMARY KEY (`cid`),
  KEY `expire` (`expire`),
  KEY `created` (`created`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci COMMENT='Storage for the cache API.';
INSERT INTO `cache_default` (`cid`, `data`, `expire`, `created`, `serialized`, `tags`, `checksum`) VALUES
('system.site.front_page', 'a:2:{s:4:"path";s:5:"/node";s:4:"site";s:24:"https://www.acme.example";}', -1, 1795711320.125, 1, 'config:system.site', '0'),
('theme_registry:olivero', 'a:1:{s:4:"page";a:1:{s:8:"template";s:4:"page";}}', -1, 1795711320.125, 1, 'theme_registry', '0');

DROP TABLE IF EXISTS `cache_render`;
CREATE TABLE `cache_render` (
  `cid` varchar(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT '' COMMENT 'Primary Key: Unique cache ID.',
  `data` longblob DEFAULT NULL COMMENT 'A collection of data to cache.',
  `expire` int(11) NOT NULL DEFAULT 0 COMMENT 'A Unix timestamp indicating when the cache entry should expire, or -1 for never.',
  `created` decimal(14,3) NOT NULL DEFAULT 0.000 COMMENT 'A timestamp with millisecond precision indicating when the cache entry was created.',
  `serialized` smallint(6) NOT NULL DEFAULT 0 COMMENT 'A flag to indicate whether content is serialized (1) or not (0).',
  `tags` longtext DEFAULT NULL COMMENT 'Space-separated list of cache tags for this entry.',
  `checksum` varchar(255) CHARACTER SET ascii COLLATE ascii_general_ci NOT NULL COMMENT 'The tag invalidation checksum when this entry was saved.',
  PRIMARY KEY (`cid`),
  KEY `expire` (`expire`),
  KEY `created` (`created`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci COMMENT='Storage for the cache API.';
INSERT INTO `cache_render` (`cid`, `data`, `expire`, `created`, `serialized`, `tags`, `checksum`) VALUES
('entity_view:node:1:full:[languages:language_interface]=en:[theme]=olivero', 'a:1:{s:7:"#markup";s:124:"<article><h2>Welcome to Acme</h2><p>Order at <a href="https://www.acme.example/shop">www.acme.example/shop</a></p></article>";}', -1, 1795711320.125, 1, 'node:1 node_view rendered', '0'),
('view:frontpage:display:page_1:[languages:language_interface]=en:[url.query_args]=:[user.permissions]=a1b2c3', 'a:1:{s:7:"#markup";s:43:"<div class="view-frontpage">3 results</div>";}', 1795769880, 1795711320.125, 1, 'node_list rendered', '0');

DROP TABLE IF EXISTS `cache_data`;
CREATE TABLE `cache_data` (
  `cid` varchar(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT '' COMMENT 'Primary Key: Unique cache ID.',
  `data` longblob DEFAULT NULL COMMENT 'A collection of data to cache.',
  `expire` int(11) NOT NULL DEFAULT 0 COMMENT 'A Unix timestamp indicating when the cache entry should expire, or -1 for never.',
  `created` decimal(14,3) NOT NULL DEFAULT 0.000 COMMENT 'A timestamp with millisecond precision indicating when the cache entry was created.',
  `serialized` smallint(6) NOT NULL DEFAULT 0 COMMENT 'A flag to indicate whether content is serialized (1) or not (0).',
  `tags` longtext DEFAULT NULL COMMENT 'Space-separated list of cache tags for this entry.',
  `checksum` varchar(255) CHARACTER SET ascii COLLATE ascii_general_ci NOT NULL COMMENT 'The tag invalidation checksum when this entry was saved.',
  PRIMARY KEY (`cid`),
  KEY `expire` (`expire`),
  KEY `created` (`created`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci COMMENT='Storage for the cache API.';
INSERT INTO `cache_data` (`cid`, `data`, `expire`, `created`, `serialized`, `tags`, `checksum`) VALUES
('update_project_projects', 'a:1:{s:6:"drupal";a:2:{s:4:"name";s:6:"drupal";s:4:"info";a:1:{s:7:"version";s:7:"10.3.10";}}}', 1795769880, 1795711320.125, 1, '', '0'),
('contact_form:personal:site-mail', 'a:1:{s:10:"recipients";a:2:{i:0;s:22:"webmaster@acme.example";i:1;s:18:"sales@acme.example";}}', -1, 1795711320.125, 1, 'config:contact.form.personal', '0');

DROP TABLE IF EXISTS `watchdog`;
CREATE TABLE `watchdog` (
  `wid` bigint(20) unsigned NOT NULL AUTO_INCREMENT COMMENT 'Primary Key: Unique watchdog event ID.',
  `uid` int(10) unsigned NOT NULL DEFAULT 0 COMMENT 'The users.uid of the user who triggered the event.',
  `type` varchar(64) CHARACTER SET ascii COLLATE ascii_general_ci NOT NULL DEFAULT '' COMMENT 'Type of log message, for example "user" or "page not found."',
  `message` longtext NOT NULL COMMENT 'Text of log message to be passed into the t() function.',
  `variables` longblob NOT NULL COMMENT 'Serialized array of variables that match the message string and that is passed into the t() function.',
  `severity` tinyint(3) unsigned NOT NULL DEFAULT 0 COMMENT 'The severity level of the event. ranges from 0 (Emergency) to 7 (Debug)',
  `link` text DEFAULT NULL COMMENT 'Link to view the result of the event.',
  `location` text NOT NULL COMMENT 'URL of the origin of the event.',
  `referer` text DEFAULT NULL COMMENT 'URL of referring page.',
  `hostname` varchar(128) NOT NULL DEFAULT '' COMMENT 'Hostname of the user who triggered the event.',
  `timestamp` bigint(20) NOT NULL DEFAULT 0 COMMENT 'Unix timestamp of when event occurred.',
  PRIMARY KEY (`wid`),
  KEY `type` (`type`),
  KEY `uid` (`uid`),
  KEY `severity` (`severity`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci COMMENT='Table that contains logs of all system events.';
INSERT INTO `watchdog` (`uid`, `type`, `message`, `variables`, `severity`, `link`, `location`, `referer`, `hostname`, `timestamp`) VALUES
(1, 'user', 'Session opened for %name.', 'a:1:{s:5:"%name";s:5:"admin";}', 5, '', 'https://www.acme.example/user/login', 'https://www.acme.example/', '203.0.113.24', 1795711320),
(0, 'page not found', '@uri', 'a:1:{s:4:"@uri";s:13:"/wp-login.php";}', 4, '', 'https://www.acme.example/wp-login.php', '', '45.155.205.233', 1795711380),
(2, 'content', '@type: updated %title.', 'a:2:{s:5:"@type";s:4:"page";s:6:"%title";s:10:"About Acme";}', 5, '<a href="/node/2">View</a>', 'https://www.acme.example/node/2/edit', 'https://www.acme.example/node/2', '198.51.100.7', 1795766280),
(0, 'php', '%type: @message in %function (line %line of %file).', 'a:5:{s:5:"%type";s:7:"Warning";s:8:"@message";s:26:"Undefined array key "mail"";s:9:"%function";s:18:"acme_mailer_send()";s:5:"%line";i:42;s:5:"%file";s:59:"/var/www/site/modules/custom/acme_mailer/acme_mailer.module";}', 3, '', 'https://www.acme.example/contact', 'https://www.acme.example/', '192.0.2.150', 1795766310),
(0, 'user', 'Login attempt failed for %user.', 'a:1:{s:5:"%user";s:23:"sarah.cole@acme.example";}', 5, '', 'https://www.acme.example/user/login', 'https://www.acme.example/user/login', '192.0.2.150', 1795766370);

DROP TABLE IF EXISTS `node_field_data`;
CREATE TABLE `node_field_data` (
  `nid` int(10) unsigned NOT NULL,
  `vid` int(10) unsigned NOT NULL,
  `type` varchar(32) CHARACTER SET ascii COLLATE ascii_general_ci NOT NULL COMMENT 'The ID of the target entity.',
  `langcode` varchar(12) CHARACTER SET ascii COLLATE ascii_general_ci NOT NULL,
  `status` tinyint(4) NOT NULL,
  `uid` int(10) unsigned NOT NULL COMMENT 'The ID of the target entity.',
  `title` varchar(255) NOT NULL,
  `created` int(11) NOT NULL,
  `changed` int(11) NOT NULL,
  `promote` tinyint(4) NOT NULL,
  `sticky` tinyint(4) NOT NULL,
  `default_langcode` tinyint(4) NOT NULL,
  PRIMARY KEY (`nid`,`langcode`),
  KEY `node__id__default_langcode__langcode` (`nid`,`default_langcode`,`langcode`),
  KEY `node__vid` (`vid`),
  KEY `node_field__type__target_id` (`type`),
  KEY `node_field__uid__target_id` (`uid`),
  KEY `node_field__created` (`created`),
  KEY `node_field__changed` (`changed`),
  KEY `node__status_type` (`status`,`type`,`nid`),
  KEY `node__frontpage` (`promote`,`status`,`sticky`,`created`),
  KEY `node__title_type` (`title`(191),`type`(4))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci COMMENT='The data table for node entities.';
INSERT INTO `node_field_data` (`nid`, `vid`, `type`, `langcode`, `status`, `uid`, `title`, `created`, `changed`, `promote`, `sticky`, `default_langcode`) VALUES
(1, 1, 'page', 'en', 1, 1, 'Welcome to Acme', 1494417600, 1795165200, 1, 1, 1),
(2, 2, 'page', 'en', 1, 2, 'About Acme', 1551693600, 1795766280, 0, 0, 1),
(3, 3, 'article', 'en', 1, 3, 'Spring catalogue: the new Mark IV anvil', 1694527200, 1708420500, 1, 0, 1),
(4, 4, 'article', 'en', 0, 3, 'Draft: winter sale', 1795711320, 1795711320, 0, 0, 1);

DROP TABLE IF EXISTS `node__body`;
CREATE TABLE `node__body` (
  `bundle` varchar(128) CHARACTER SET ascii COLLATE ascii_general_ci NOT NULL DEFAULT '' COMMENT 'The field instance bundle to which this row belongs, used when deleting a field instance',
  `deleted` tinyint(4) NOT NULL DEFAULT 0 COMMENT 'A boolean indicating whether this data item has been deleted',
  `entity_id` int(10) unsigned NOT NULL COMMENT 'The entity id this data is attached to',
  `revision_id` int(10) unsigned NOT NULL COMMENT 'The entity revision id this data is attached to',
  `langcode` varchar(32) CHARACTER SET ascii COLLATE ascii_general_ci NOT NULL DEFAULT '' COMMENT 'The language code for this data item.',
  `delta` int(10) unsigned NOT NULL COMMENT 'The sequence number for this data item, used for multi-value fields',
  `body_value` longtext NOT NULL,
  `body_summary` longtext DEFAULT NULL,
  `body_format` varchar(255) CHARACTER SET ascii COLLATE ascii_general_ci DEFAULT NULL,
  PRIMARY KEY (`entity_id`,`deleted`,`delta`,`langcode`),
  KEY `bundle` (`bundle`),
  KEY `revision_id` (`revision_id`),
  KEY `body_format` (`body_format`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci COMMENT='Data storage for node field body.';
INSERT INTO `node__body` (`bundle`, `deleted`, `entity_id`, `revision_id`, `langcode`, `delta`, `body_value`, `body_summary`, `body_format`) VALUES
('page', 0, 1, 1, 'en', 0, '<p>Rockets, anvils and giant magnets, shipped worldwide. Order online at <a href="https://www.acme.example/shop">www.acme.example/shop</a>.</p>', '', 'basic_html'),
('page', 0, 2, 2, 'en', 0, '<p>Questions? Write to <a href="mailto:sales@acme.example">sales@acme.example</a> or call +1 555 0100.</p>', '', 'basic_html'),
('article', 0, 3, 3, 'en', 0, '<p>Read the full catalogue at https://www.acme.example/catalogue/2024 and tell Jane (jane.miller@acme.example) what you think.</p>', '', 'basic_html'),
('article', 0, 4, 4, 'en', 0, '<p>Not published yet. Preview: https://www.acme.example/node/4</p>', '', 'basic_html');

-- Personal data beyond the accounts, as the sanitizing and its check must find it: comments by
-- visitors, the messages of the contact form (contact_storage) and of a webform, and fields of
-- the accounts. Customers write from gmail.com; staff from acme-shop.example, the domain the
-- shop runs at, which is not the domain of the site's mail (acme.example).
DROP TABLE IF EXISTS `comment_field_data`;
CREATE TABLE `comment_field_data` (
  `cid` int(10) unsigned NOT NULL,
  `comment_type` varchar(32) CHARACTER SET ascii COLLATE ascii_general_ci NOT NULL COMMENT 'The ID of the target entity.',
  `langcode` varchar(12) CHARACTER SET ascii COLLATE ascii_general_ci NOT NULL,
  `status` tinyint(4) NOT NULL,
  `uid` int(10) unsigned NOT NULL COMMENT 'The ID of the target entity.',
  `pid` int(10) unsigned DEFAULT NULL COMMENT 'The ID of the target entity.',
  `entity_id` int(10) unsigned DEFAULT NULL COMMENT 'The ID of the target entity.',
  `subject` varchar(64) DEFAULT NULL,
  `name` varchar(60) DEFAULT NULL,
  `mail` varchar(254) DEFAULT NULL,
  `homepage` varchar(255) DEFAULT NULL,
  `hostname` varchar(128) DEFAULT NULL,
  `created` int(11) NOT NULL,
  `changed` int(11) DEFAULT NULL,
  `thread` varchar(255) NOT NULL,
  `entity_type` varchar(32) CHARACTER SET ascii COLLATE ascii_general_ci NOT NULL,
  `field_name` varchar(32) CHARACTER SET ascii COLLATE ascii_general_ci NOT NULL,
  `default_langcode` tinyint(4) NOT NULL,
  PRIMARY KEY (`cid`,`langcode`),
  KEY `comment__id__default_langcode__langcode` (`cid`,`default_langcode`,`langcode`),
  KEY `comment_field__uid__target_id` (`uid`),
  KEY `comment__entity_langcode` (`entity_id`,`entity_type`,`comment_type`,`default_langcode`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci COMMENT='The data table for comment entities.';
INSERT INTO `comment_field_data` (`cid`, `comment_type`, `langcode`, `status`, `uid`, `pid`, `entity_id`, `subject`, `name`, `mail`, `homepage`, `hostname`, `created`, `changed`, `thread`, `entity_type`, `field_name`, `default_langcode`) VALUES
(1, 'comment', 'en', 1, 0, NULL, 3, 'Does it fit a Mark III stand?', 'Wile E.', 'wile.e.coyote1949@gmail.com', NULL, '198.51.100.23', 1708506900, 1708506900, '01/', 'node', 'comment', 1),
(2, 'comment', 'en', 1, 3, 1, 3, 'Yes it does', 'tom.baker', NULL, NULL, '203.0.113.24', 1708510500, 1708510500, '01.00/', 'node', 'comment', 1),
(3, 'comment', 'en', 0, 0, NULL, 3, 'Bulk order', 'Lisa Nguyen', 'lisa.nguyen@acme-shop.example', NULL, '192.0.2.77', 1708593300, 1708593300, '02/', 'node', 'comment', 1),
(4, 'comment', 'en', 1, 0, NULL, 3, 'Shipping to Canada?', 'R. Runner', 'road.runner.beep@gmail.com', NULL, '198.51.100.99', 1709111700, 1709111700, '03/', 'node', 'comment', 1);

DROP TABLE IF EXISTS `contact_message`;
CREATE TABLE `contact_message` (
  `id` int(10) unsigned NOT NULL AUTO_INCREMENT,
  `uuid` varchar(128) CHARACTER SET ascii COLLATE ascii_general_ci NOT NULL,
  `contact_form` varchar(32) CHARACTER SET ascii COLLATE ascii_general_ci NOT NULL COMMENT 'The ID of the target entity.',
  `langcode` varchar(12) CHARACTER SET ascii COLLATE ascii_general_ci NOT NULL,
  `name` varchar(255) DEFAULT NULL,
  `mail` varchar(254) DEFAULT NULL,
  `subject` varchar(100) DEFAULT NULL,
  `message` longtext DEFAULT NULL,
  `copy` tinyint(4) DEFAULT NULL,
  `recipient` int(10) unsigned DEFAULT NULL COMMENT 'The ID of the target entity.',
  `ip_address` varchar(128) DEFAULT NULL,
  `created` int(11) DEFAULT NULL,
  `uid` int(10) unsigned DEFAULT NULL COMMENT 'The ID of the target entity.',
  PRIMARY KEY (`id`),
  UNIQUE KEY `contact_message_field__uuid__value` (`uuid`),
  KEY `contact_message_field__contact_form__target_id` (`contact_form`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci COMMENT='The base table for contact_message entities.';
INSERT INTO `contact_message` (`id`, `uuid`, `contact_form`, `langcode`, `name`, `mail`, `subject`, `message`, `copy`, `recipient`, `ip_address`, `created`, `uid`) VALUES
(1, 'c0a1b2c3-0001-4000-8000-000000000001', 'feedback', 'en', 'Anna Kowalski', 'anna.kowalski@gmail.com', 'Quote for 3 anvils', 'Please send the quote for three Mark IV anvils. My husband reads mail at piotr.kowalski.77@gmail.com too.', 0, NULL, '198.51.100.41', 1708420900, 0),
(2, 'c0a1b2c3-0002-4000-8000-000000000002', 'feedback', 'en', 'Lisa Nguyen', 'lisa.nguyen@acme-shop.example', 'Stock levels', 'Can the website show stock levels? Lisa, shop floor', 0, NULL, '192.0.2.77', 1708593000, 0),
(3, 'c0a1b2c3-0003-4000-8000-000000000003', 'feedback', 'en', 'Bob R.', 'bob.r.1961@gmail.com', 'Broken magnet', 'My giant magnet arrived broken. Call me on +1 555 0199.', 1, NULL, '203.0.113.200', 1709111000, 0);

DROP TABLE IF EXISTS `webform_submission_data`;
CREATE TABLE `webform_submission_data` (
  `webform_id` varchar(32) CHARACTER SET ascii COLLATE ascii_general_ci NOT NULL COMMENT 'The webform id.',
  `sid` int(10) unsigned NOT NULL COMMENT 'The unique identifier for this submission.',
  `name` varchar(128) NOT NULL COMMENT 'The name of the element.',
  `property` varchar(128) NOT NULL DEFAULT '' COMMENT 'The property of the element''s value.',
  `delta` int(10) unsigned NOT NULL DEFAULT 0 COMMENT 'The delta of the element''s value.',
  `value` longtext NOT NULL COMMENT 'The element''s value.',
  PRIMARY KEY (`sid`,`name`,`property`,`delta`),
  KEY `webform_id` (`webform_id`),
  KEY `sid_webform_id` (`sid`,`webform_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci COMMENT='Stores all submitted data for webform submissions.';
INSERT INTO `webform_submission_data` (`webform_id`, `sid`, `name`, `property`, `delta`, `value`) VALUES
('catalogue_request', 1, 'name', '', 0, 'Anna Kowalski'),
('catalogue_request', 1, 'email', '', 0, 'anna.kowalski@gmail.com'),
('catalogue_request', 1, 'message', '', 0, 'The printed catalogue, please.'),
('catalogue_request', 2, 'name', '', 0, 'Lisa Nguyen'),
('catalogue_request', 2, 'email', '', 0, 'Lisa.Nguyen@acme-shop.example'),
('catalogue_request', 2, 'message', '', 0, 'Send a copy to my own address, lisa.n1988@gmail.com.'),
('catalogue_request', 3, 'name', '', 0, 'Bob R.'),
('catalogue_request', 3, 'email', '', 0, 'bob.r.1961@gmail.com'),
('catalogue_request', 3, 'message', '', 0, 'Only the magnets section.');

DROP TABLE IF EXISTS `user__field_full_name`;
CREATE TABLE `user__field_full_name` (
  `bundle` varchar(128) CHARACTER SET ascii COLLATE ascii_general_ci NOT NULL DEFAULT '' COMMENT 'The field instance bundle to which this row belongs, used when deleting a field instance',
  `deleted` tinyint(4) NOT NULL DEFAULT 0 COMMENT 'A boolean indicating whether this data item has been deleted',
  `entity_id` int(10) unsigned NOT NULL COMMENT 'The entity id this data is attached to',
  `revision_id` int(10) unsigned NOT NULL COMMENT 'The entity revision id this data is attached to',
  `langcode` varchar(32) CHARACTER SET ascii COLLATE ascii_general_ci NOT NULL DEFAULT '' COMMENT 'The language code for this data item.',
  `delta` int(10) unsigned NOT NULL COMMENT 'The sequence number for this data item, used for multi-value fields',
  `field_full_name_value` varchar(255) NOT NULL,
  PRIMARY KEY (`entity_id`,`deleted`,`delta`,`langcode`),
  KEY `bundle` (`bundle`),
  KEY `revision_id` (`revision_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci COMMENT='Data storage for user field field_full_name.';
INSERT INTO `user__field_full_name` (`bundle`, `deleted`, `entity_id`, `revision_id`, `langcode`, `delta`, `field_full_name_value`) VALUES
('user', 0, 2, 2, 'en', 0, 'Jane Miller'),
('user', 0, 3, 3, 'en', 0, 'Tom Baker'),
('user', 0, 4, 4, 'en', 0, 'Sarah Cole');

DROP TABLE IF EXISTS `user__field_private_mail`;
CREATE TABLE `user__field_private_mail` (
  `bundle` varchar(128) CHARACTER SET ascii COLLATE ascii_general_ci NOT NULL DEFAULT '' COMMENT 'The field instance bundle to which this row belongs, used when deleting a field instance',
  `deleted` tinyint(4) NOT NULL DEFAULT 0 COMMENT 'A boolean indicating whether this data item has been deleted',
  `entity_id` int(10) unsigned NOT NULL COMMENT 'The entity id this data is attached to',
  `revision_id` int(10) unsigned NOT NULL COMMENT 'The entity revision id this data is attached to',
  `langcode` varchar(32) CHARACTER SET ascii COLLATE ascii_general_ci NOT NULL DEFAULT '' COMMENT 'The language code for this data item.',
  `delta` int(10) unsigned NOT NULL COMMENT 'The sequence number for this data item, used for multi-value fields',
  `field_private_mail_value` varchar(254) DEFAULT NULL,
  PRIMARY KEY (`entity_id`,`deleted`,`delta`,`langcode`),
  KEY `bundle` (`bundle`),
  KEY `revision_id` (`revision_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci COMMENT='Data storage for user field field_private_mail.';
INSERT INTO `user__field_private_mail` (`bundle`, `deleted`, `entity_id`, `revision_id`, `langcode`, `delta`, `field_private_mail_value`) VALUES
('user', 0, 2, 2, 'en', 0, 'jane.miller.home@gmail.com'),
('user', 0, 4, 4, 'en', 0, 'sarah.cole@acme-shop.example');

SET foreign_key_checks = 1;
