"""The rendering kit of every hosted page (the IdP's own pages and the wallet's purchase
pages): branding and framing policy (``views``), where a page may send the browser next
(``links``).  It depends only on ``idp.core`` and ``idp.apps``, so the packages that
render pages share it without importing each other.  The templates and stylesheet live
in ``idp/pages/templates`` and ``idp/pages/static``, registered by the pages blueprint."""
