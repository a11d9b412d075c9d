#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# A minimal org.freedesktop.secrets for tests, on the session bus given by
# DBUS_SESSION_BUS_ADDRESS: "plain" sessions only, every item unlocked, items from the
# command line as ATTR=VALUE[,ATTR=VALUE...]:SECRET. Prints "ready" once the name is
# owned. Each SearchItems call is logged to stderr with its attributes. One collection
# (alias "default") takes CreateItem, logged as "create" with the attributes.
import sys

import dbus
import dbus.mainloop.glib
import dbus.service
from gi.repository import GLib

BASE = "/org/freedesktop/secrets"
SERVICE = "org.freedesktop.Secret.Service"
ITEM = "org.freedesktop.Secret.Item"
SESSION = "org.freedesktop.Secret.Session"
COLLECTION = "org.freedesktop.Secret.Collection"
COLLECTION_PATH = BASE + "/collection/login"
PROPS = "org.freedesktop.DBus.Properties"


class NotSupported(dbus.DBusException):
    _dbus_error_name = "org.freedesktop.DBus.Error.NotSupported"


class Session(dbus.service.Object):
    @dbus.service.method(SESSION)
    def Close(self):
        self.remove_from_connection()


class Item(dbus.service.Object):
    def __init__(self, bus, path, attrs, secret):
        super().__init__(bus, path)
        self.attrs, self.secret = attrs, secret

    def as_secret(self, session):
        return (dbus.ObjectPath(session), dbus.ByteArray(b""),
                dbus.ByteArray(self.secret.encode()), "text/plain")

    @dbus.service.method(ITEM, in_signature="o", out_signature="(oayays)")
    def GetSecret(self, session):
        return self.as_secret(session)

    def props(self):
        return {"Locked": False, "Label": "test",
                "Attributes": dbus.Dictionary(self.attrs, signature="ss"),
                "Created": dbus.UInt64(0), "Modified": dbus.UInt64(0)}

    @dbus.service.method(PROPS, in_signature="ss", out_signature="v")
    def Get(self, iface, prop):
        return self.props()[prop]

    @dbus.service.method(PROPS, in_signature="s", out_signature="a{sv}")
    def GetAll(self, iface):
        return self.props() if iface == ITEM else {}


class Collection(dbus.service.Object):
    def __init__(self, bus, service, path):
        super().__init__(bus, path)
        self.bus, self.service = bus, service

    @dbus.service.method(COLLECTION, in_signature="a{sv}(oayays)b", out_signature="oo")
    def CreateItem(self, props, secret, replace):
        attrs = {str(k): str(v) for k, v in
                 props.get("org.freedesktop.Secret.Item.Attributes", {}).items()}
        print("create %s" % sorted(attrs.items()), file=sys.stderr, flush=True)
        items = self.service.items
        if replace:
            for i in [i for i in items if i.attrs == attrs]:
                i.remove_from_connection()
                items.remove(i)
        self.service.n += 1
        item = Item(self.bus, "%s/i%d" % (COLLECTION_PATH, 1000 + self.service.n), attrs,
                    bytes(secret[2]).decode())
        items.append(item)
        return (dbus.ObjectPath(item.__dbus_object_path__), dbus.ObjectPath("/"))

    def props(self):
        return {"Locked": False, "Label": "login",
                "Items": dbus.Array([i.__dbus_object_path__ for i in self.service.items],
                                    signature="o"),
                "Created": dbus.UInt64(0), "Modified": dbus.UInt64(0)}

    @dbus.service.method(PROPS, in_signature="ss", out_signature="v")
    def Get(self, iface, prop):
        return self.props()[prop]

    @dbus.service.method(PROPS, in_signature="s", out_signature="a{sv}")
    def GetAll(self, iface):
        return self.props() if iface == COLLECTION else {}


class Service(dbus.service.Object):
    def __init__(self, bus, items):
        super().__init__(bus, BASE)
        self.bus, self.items, self.n = bus, items, 0

    @dbus.service.method(SERVICE, in_signature="sv", out_signature="vo")
    def OpenSession(self, algorithm, _input):
        if algorithm != "plain":
            raise NotSupported("only plain")
        self.n += 1
        path = "%s/session/s%d" % (BASE, self.n)
        Session(self.bus, path)
        return (dbus.String("", variant_level=1), dbus.ObjectPath(path))

    @dbus.service.method(SERVICE, in_signature="a{ss}", out_signature="aoao")
    def SearchItems(self, attrs):
        print("search %s" % sorted(attrs.items()), file=sys.stderr, flush=True)
        found = [i.__dbus_object_path__ for i in self.items
                 if all(i.attrs.get(k) == v for k, v in attrs.items())]
        return (dbus.Array(found, signature="o"), dbus.Array([], signature="o"))

    @dbus.service.method(SERVICE, in_signature="aoo", out_signature="a{o(oayays)}")
    def GetSecrets(self, paths, session):
        return {i.__dbus_object_path__: i.as_secret(session)
                for i in self.items if i.__dbus_object_path__ in paths}

    @dbus.service.method(SERVICE, in_signature="ao", out_signature="aoo")
    def Unlock(self, paths):
        return (dbus.Array(paths, signature="o"), dbus.ObjectPath("/"))

    # libsecret stores into an alias by "creating" it: the spec returns the existing one.
    @dbus.service.method(SERVICE, in_signature="a{sv}s", out_signature="oo")
    def CreateCollection(self, _props, alias):
        if alias != "default":
            raise NotSupported("only the default collection")
        return (dbus.ObjectPath(COLLECTION_PATH), dbus.ObjectPath("/"))

    @dbus.service.method(SERVICE, in_signature="s", out_signature="o")
    def ReadAlias(self, name):
        return dbus.ObjectPath(COLLECTION_PATH if name == "default" else "/")

    @dbus.service.method(PROPS, in_signature="ss", out_signature="v")
    def Get(self, iface, prop):
        return self.GetAll(iface)[prop]

    @dbus.service.method(PROPS, in_signature="s", out_signature="a{sv}")
    def GetAll(self, iface):
        return {"Collections": dbus.Array([], signature="o")} if iface == SERVICE else {}


def main():
    dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
    bus = dbus.SessionBus()
    items = []
    for n, arg in enumerate(sys.argv[1:]):
        spec, secret = arg.split(":", 1)
        attrs = dict(kv.split("=", 1) for kv in spec.split(","))
        items.append(Item(bus, "%s/collection/login/i%d" % (BASE, n), attrs, secret))
    service = Service(bus, items)
    # libsecret addresses the default collection by its alias path too.
    collections = [Collection(bus, service, p) for p in (COLLECTION_PATH, BASE + "/aliases/default")]
    _name = dbus.service.BusName("org.freedesktop.secrets", bus)
    print("ready", flush=True)
    GLib.MainLoop().run()


main()
