module github.com/gorpyc/rpyc

go 1.24
